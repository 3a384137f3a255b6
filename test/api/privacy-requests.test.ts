import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, gdprRequests, jobs, privacyRequestClock } from '../../db/schema';
import { privacyClockChangedSignal, searchAttributes } from '../../workflows/contracts';
import {
  eventually,
  problemOf,
  startTestApp,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';

const DAY = 86_400_000;

interface Request {
  id: string;
  customerId: string;
  type: string;
  regulation: string;
  receivedAt: string;
  dueAt: string;
  statutoryDueAt: string;
  latestDueAt: string;
  pausedDays: number;
  paused: { since: string; reason: string } | null;
  status: string;
  workflowId: string;
  delivery: { method: string; note: string | null; deliveredBy: string | null } | null;
  completedAt: string | null;
}
type Detail = Request & {
  clock: { kind: string; reason: string; dueAtBefore: string; dueAtAfter: string }[];
};

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

const newCustomer = async () =>
  (await t.create('/v1/customers', { name: `Private ${uniqueWord()}` })).id;

const record = (body: Record<string, unknown>) => t.create<Request>('/v1/privacy-requests', body);
const act = (id: string, action: string, body: Record<string, unknown> = {}, key?: string) =>
  t.call('POST', `/v1/privacy-requests/${id}/${action}`, { body, ...(key ? { key } : {}) });
const detail = async (id: string) =>
  (await t.call('GET', `/v1/privacy-requests/${id}`)).json<Detail>();
/** Exports the request's customer and waits until the archive is ready: what delivery needs. */
async function exportReady(id: string) {
  const exported = await act(id, 'export');
  expect(exported.statusCode, exported.body).toBe(202);
  const exportJob = exported.json<{ job: { id: string } }>().job;
  await eventually(async () => {
    const job = (await t.call('GET', `/v1/jobs/${exportJob.id}`)).json<{ status: string }>();
    return job.status === 'completed' ? job : undefined;
  }, 60_000);
}
const plus = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY).toISOString();

describe('privacy requests', () => {
  it('keep one open request per customer and type, each regulation with its own clock', async () => {
    const customerId = await newCustomer();
    const access = await record({ customerId, type: 'access', regulation: 'ccpa' });
    expect(access).toMatchObject({ type: 'access', regulation: 'ccpa', status: 'open' });
    expect(Date.parse(access.dueAt) - Date.parse(access.receivedAt)).toBe(45 * DAY);
    expect(access.latestDueAt).toBe(plus(access.dueAt, 45));
    const erasure = await record({ customerId, regulation: 'uk_gdpr' });
    expect(erasure).toMatchObject({ type: 'erasure', regulation: 'uk_gdpr' });
    expect(Date.parse(erasure.dueAt) - Date.parse(erasure.receivedAt)).toBe(30 * DAY);
    expect(erasure.latestDueAt).toBe(plus(erasure.dueAt, 60));

    const again = await t.call('POST', '/v1/privacy-requests', {
      body: { customerId, type: 'access' },
    });
    expect(problemOf(again)).toMatchObject({
      status: 409,
      code: 'REQUEST_ALREADY_OPEN',
      gdprRequestId: access.id,
    });
    // The old path records an erasure request under the GDPR: this customer has one open.
    const old = await t.call('POST', '/v1/gdpr-requests', { body: { customerId } });
    expect(problemOf(old)).toMatchObject({ status: 409, code: 'REQUEST_ALREADY_OPEN' });

    const description = await t.temporal.workflow.getHandle(access.workflowId).describe();
    expect(description.typedSearchAttributes.get(searchAttributes.privacyType)).toBe('access');
    expect(description.typedSearchAttributes.get(searchAttributes.privacyRegulation)).toBe('ccpa');
  });

  it('list by type and regulation; the old path lists erasure requests only', async () => {
    const customerId = await newCustomer();
    const access = await record({ customerId, type: 'access', regulation: 'ccpa' });
    const erasure = await record({ customerId });
    const ids = async (url: string) =>
      (await t.call('GET', url)).json<{ items: Request[] }>().items.map((r) => r.id);
    // Soonest deadline first: the erasure (30 days) before the CCPA access request (45).
    expect(await ids(`/v1/privacy-requests?customerId=${customerId}`)).toEqual([
      erasure.id,
      access.id,
    ]);
    expect(await ids(`/v1/privacy-requests?customerId=${customerId}&type=access`)).toEqual([
      access.id,
    ]);
    expect(await ids(`/v1/privacy-requests?customerId=${customerId}&regulation=gdpr`)).toEqual([
      erasure.id,
    ]);
    expect(await ids(`/v1/gdpr-requests?customerId=${customerId}`)).toEqual([erasure.id]);
    expect(await ids(`/v1/gdpr-requests?customerId=${customerId}&type=access`)).toEqual([
      access.id,
    ]);
  });

  it('report each type, and the old report erasure requests only', async () => {
    // A second of its own in the past year, so other tests' requests stay out of it.
    const at = new Date(Date.now() - Math.floor(Math.random() * 300 + 10) * DAY);
    at.setUTCMilliseconds(0);
    const customerId = await newCustomer();
    await record({ customerId, type: 'access', receivedAt: at.toISOString() });
    const window = `from=${at.toISOString()}&to=${new Date(at.getTime() + 1000).toISOString()}`;
    const report = async (url: string) =>
      (await t.call('GET', url)).json<{ received: number; open: number }>();
    expect(await report(`/v1/privacy-requests/report?${window}`)).toMatchObject({ received: 1 });
    expect(await report(`/v1/privacy-requests/report?${window}&type=access`)).toMatchObject({
      received: 1,
    });
    expect(await report(`/v1/privacy-requests/report?${window}&type=erasure`)).toMatchObject({
      received: 0,
    });
    expect(await report(`/v1/privacy-requests/report?${window}&regulation=ccpa`)).toMatchObject({
      received: 0,
    });
    expect(await report(`/v1/gdpr-requests/report?${window}`)).toMatchObject({ received: 0 });
  });

  it('complete an access request by recording its delivery; erase refuses it', async () => {
    const access = await record({ customerId: await newCustomer(), type: 'access' });
    const erase = await act(access.id, 'erase');
    expect(problemOf(erase)).toMatchObject({
      status: 409,
      code: 'WRONG_REQUEST_TYPE',
      requestType: 'access',
    });
    const deleting = await t.db
      .select()
      .from(jobs)
      .where(sql`${jobs.params}->>'id' = ${access.customerId}`);
    expect(deleting).toEqual([]);
    expect((await detail(access.id)).status).toBe('open');

    // Delivered from its export: none yet is a refusal, one ready is a delivery.
    const early = await act(access.id, 'deliver', { method: 'email' });
    expect(problemOf(early)).toMatchObject({ status: 409, code: 'EXPORT_REQUIRED' });
    await exportReady(access.id);
    const delivered = await act(access.id, 'deliver', { method: 'email', note: 'Sent by DPO' });
    expect(delivered.statusCode).toBe(200);
    expect(delivered.json<Request>()).toMatchObject({
      status: 'completed',
      delivery: { method: 'email', note: 'Sent by DPO', deliveredBy: t.adminId },
    });
    expect(await t.temporal.workflow.getHandle(access.workflowId).result()).toEqual({
      status: 'completed',
      onTime: true,
    });
    const twice = await act(access.id, 'deliver', { method: 'post' });
    expect(problemOf(twice)).toMatchObject({ status: 409, code: 'REQUEST_CLOSED' });
    const closed = await act(access.id, 'extend', { reason: 'x', dueAt: plus(access.dueAt, 1) });
    expect(problemOf(closed)).toMatchObject({ status: 409, code: 'REQUEST_CLOSED' });
    expect((await detail(access.id)).delivery?.method).toBe('email');
  });

  it('refuse delivering an erasure request', async () => {
    const erasure = await record({ customerId: await newCustomer() });
    const refused = await act(erasure.id, 'deliver', { method: 'portal' });
    expect(problemOf(refused)).toMatchObject({
      status: 409,
      code: 'WRONG_REQUEST_TYPE',
      requestType: 'erasure',
    });
    expect(await detail(erasure.id)).toMatchObject({ status: 'open', delivery: null });
  });

  it('extend within the maximum only, and never to an earlier date', async () => {
    const request = await record({ customerId: await newCustomer(), type: 'access' });
    const earlier = await act(request.id, 'extend', {
      reason: 'Complex',
      dueAt: plus(request.dueAt, -1),
    });
    expect(problemOf(earlier)).toMatchObject({ status: 422, code: 'EXTENSION_NOT_LATER' });
    const beyond = await act(request.id, 'extend', {
      reason: 'Complex',
      dueAt: plus(request.dueAt, 61),
    });
    expect(problemOf(beyond)).toMatchObject({
      status: 422,
      code: 'EXTENSION_BEYOND_LIMIT',
      latestDueAt: plus(request.dueAt, 60),
      maxExtensionDays: 60,
      regulation: 'gdpr',
    });
    expect(await detail(request.id)).toMatchObject({ dueAt: request.dueAt, clock: [] });

    const first = await act(request.id, 'extend', {
      reason: 'Many systems',
      dueAt: plus(request.dueAt, 30),
    });
    expect(first.json<Request>().dueAt).toBe(plus(request.dueAt, 30));
    const full = await act(request.id, 'extend', {
      reason: 'Still more',
      dueAt: plus(request.dueAt, 60),
    });
    expect(full.json<Request>().dueAt).toBe(plus(request.dueAt, 60));
    // The maximum is for all extensions together: a third one beyond it is refused too.
    const third = await act(request.id, 'extend', {
      reason: 'Once more',
      dueAt: plus(request.dueAt, 61),
    });
    expect(problemOf(third)).toMatchObject({ status: 422, code: 'EXTENSION_BEYOND_LIMIT' });
    const after = await detail(request.id);
    expect(after.dueAt).toBe(plus(request.dueAt, 60));
    expect(after.clock.map((c) => [c.kind, c.reason, c.dueAtBefore, c.dueAtAfter])).toEqual([
      ['extend', 'Many systems', request.dueAt, plus(request.dueAt, 30)],
      ['extend', 'Still more', plus(request.dueAt, 30), plus(request.dueAt, 60)],
    ]);
    const audited = await t.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.objectId, request.id));
    expect(audited.map((a) => a.action).filter((a) => a === 'gdpr_request.extended')).toHaveLength(
      2,
    );
  });

  it('pause once, resume once, and give back the paused days rounded up', async () => {
    const request = await record({ customerId: await newCustomer(), type: 'access' });
    const notPaused = await act(request.id, 'resume');
    expect(problemOf(notPaused)).toMatchObject({ status: 409, code: 'CLOCK_NOT_PAUSED' });
    const badReason = await act(request.id, 'pause', { reason: 'on_holiday' });
    expect(badReason.statusCode).toBe(400);
    const paused = await act(request.id, 'pause', {
      reason: 'awaiting_clarification',
      note: 'Which account?',
    });
    expect(paused.json<Request>().paused).toMatchObject({ reason: 'awaiting_clarification' });
    const twice = await act(request.id, 'pause', { reason: 'awaiting_identity_verification' });
    expect(problemOf(twice)).toMatchObject({
      status: 409,
      code: 'CLOCK_ALREADY_PAUSED',
      pauseReason: 'awaiting_clarification',
    });
    const resumed = (await act(request.id, 'resume')).json<Request>();
    expect(resumed).toMatchObject({
      paused: null,
      pausedDays: 1,
      dueAt: plus(request.dueAt, 1),
      latestDueAt: plus(request.dueAt, 61),
    });
    const clock = (await detail(request.id)).clock;
    expect(clock.map((c) => [c.kind, c.reason, c.dueAtAfter])).toEqual([
      ['pause', 'awaiting_clarification', request.dueAt],
      ['resume', 'awaiting_clarification', plus(request.dueAt, 1)],
    ]);
    await eventually(async () => {
      const d = await t.temporal.workflow.getHandle(request.workflowId).describe();
      return d.typedSearchAttributes.get(searchAttributes.gdprDueAt)?.toISOString() ===
        resumed.dueAt
        ? true
        : undefined;
    }, 10_000);
  });

  it('refuse every route without gdpr.manage', async () => {
    const request = await record({ customerId: await newCustomer(), type: 'access' });
    const outsider = await userWithKey(t.db, { permissions: ['customers.read'] });
    for (const [action, body] of [
      ['extend', { reason: 'x', dueAt: plus(request.dueAt, 1) }],
      ['pause', { reason: 'awaiting_clarification' }],
      ['resume', {}],
      ['deliver', { method: 'email' }],
    ] as const) {
      const refused = await act(request.id, action, body, outsider.key);
      expect(problemOf(refused)).toMatchObject({ status: 403, permission: 'gdpr.manage' });
    }
    expect(await detail(request.id)).toMatchObject({ dueAt: request.dueAt, clock: [] });
  });

  it('hold under dozens of parallel pauses, resumes and extensions: one consistent clock', async () => {
    const N = 24;
    const request = await record({ customerId: await newCustomer(), type: 'access' });
    const pauses = await Promise.all(
      Array.from({ length: N }, () =>
        act(request.id, 'pause', { reason: 'awaiting_clarification' }),
      ),
    );
    expect(pauses.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(
      pauses.filter((r) => r.statusCode === 409 && problemOf(r).code === 'CLOCK_ALREADY_PAUSED'),
    ).toHaveLength(N - 1);
    const resumes = await Promise.all(Array.from({ length: N }, () => act(request.id, 'resume')));
    expect(resumes.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(
      resumes.filter((r) => r.statusCode === 409 && problemOf(r).code === 'CLOCK_NOT_PAUSED'),
    ).toHaveLength(N - 1);

    const base = resumes.find((r) => r.statusCode === 200)!.json<Request>().dueAt;
    const mixed = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        i % 3 === 0
          ? act(request.id, 'pause', { reason: 'awaiting_identity_verification' })
          : i % 3 === 1
            ? act(request.id, 'resume')
            : act(request.id, 'extend', { reason: `step ${i}`, dueAt: plus(base, i) }),
      ),
    );
    for (const response of mixed) {
      if (response.statusCode !== 200) {
        expect([409, 422]).toContain(response.statusCode);
        expect(['CLOCK_ALREADY_PAUSED', 'CLOCK_NOT_PAUSED', 'EXTENSION_NOT_LATER']).toContain(
          problemOf(response).code,
        );
      }
    }
    // The clock is one chain: each move starts where the one before it ended.
    const after = await detail(request.id);
    expect(after.status).toBe('open');
    const entries = await t.db
      .select()
      .from(privacyRequestClock)
      .where(eq(privacyRequestClock.requestId, request.id))
      .orderBy(privacyRequestClock.id);
    expect(entries).toHaveLength(mixed.filter((r) => r.statusCode === 200).length + 2);
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i]!.dueAtBefore.toISOString()).toBe(entries[i - 1]!.dueAtAfter.toISOString());
    }
    expect(after.dueAt).toBe(entries.at(-1)!.dueAtAfter.toISOString());
    const [row] = await t.db.select().from(gdprRequests).where(eq(gdprRequests.id, request.id));
    expect(row!.pausedDays).toBe(
      entries.filter((e) => e.kind === 'resume').reduce((sum, e) => sum + e.pausedDays, 0),
    );
    const lastStop = entries.filter((e) => e.kind !== 'extend').at(-1)!;
    expect(row!.pausedAt === null).toBe(lastStop.kind === 'resume');
    // The workflow keeps the latest clock, whatever order the signals arrived in.
    await eventually(async () => {
      const d = await t.temporal.workflow.getHandle(request.workflowId).describe();
      return d.typedSearchAttributes.get(searchAttributes.gdprDueAt)?.toISOString() === after.dueAt
        ? true
        : undefined;
    }, 10_000);
    // Dozens of deliveries at once: one records how, the others find the request closed.
    await exportReady(request.id);
    const deliveries = await Promise.all(
      (['email', 'portal', 'post', 'other'] as const).flatMap((method) =>
        Array.from({ length: N / 4 }, () => act(request.id, 'deliver', { method })),
      ),
    );
    expect(deliveries.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(
      deliveries.filter((r) => r.statusCode === 409 && problemOf(r).code === 'REQUEST_CLOSED'),
    ).toHaveLength(N - 1);
    const winner = deliveries.find((r) => r.statusCode === 200)!.json<Request>();
    expect((await detail(request.id)).delivery?.method).toBe(winner.delivery?.method);
  });
});

describe('the request workflow', () => {
  it('keeps the latest clock when its signals arrive out of order', async () => {
    const request = await record({ customerId: await newCustomer(), type: 'access' });
    const handle = t.temporal.workflow.getHandle(request.workflowId);
    const later = plus(request.dueAt, 20);
    await handle.signal(privacyClockChangedSignal, { dueAt: later, paused: false, seq: 1_000_002 });
    await handle.signal(privacyClockChangedSignal, {
      dueAt: plus(request.dueAt, 10),
      paused: false,
      seq: 1_000_001,
    });
    await eventually(async () => {
      const history = await handle.fetchHistory();
      const signalled = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes);
      const tasks = history.events!.filter((e) => e.workflowTaskCompletedEventAttributes);
      return signalled.length === 2 && tasks.length >= 2 ? true : undefined;
    }, 10_000);
    await eventually(async () => {
      const d = await handle.describe();
      return d.typedSearchAttributes.get(searchAttributes.gdprDueAt)?.toISOString() === later
        ? true
        : undefined;
    }, 10_000);
    const d = await handle.describe();
    expect(d.typedSearchAttributes.get(searchAttributes.gdprDueAt)?.toISOString()).toBe(later);
  });
});
