import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversations, gdprRequests, jobs, kobjects } from '../../db/schema';
import { completeGdprRequest } from '../../operations/gdpr-requests';
import { searchAttributes } from '../../workflows/contracts';
import {
  decodedHistory,
  eventually,
  problemOf,
  startTestApp,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { customerWithItems, type Job, finishedDeleteJob, startBulkErasure } from '../job-helpers';

const DAY = 86_400_000;

interface Request {
  id: string;
  customerId: string;
  reference: string | null;
  receivedAt: string;
  dueAt: string;
  status: string;
  daysLeft: number | null;
  resolvedFrom?: string | null;
  workflowId: string;
  decline: { reason: string; note: string | null } | null;
  completionRecord: { places: { place: string; count: number }[] } | null;
  completedAt: string | null;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

const newCustomer = async () =>
  (await t.create('/v1/customers', { name: `Erasable ${uniqueWord()}` })).id;

const post = (body: Record<string, unknown>, key?: string) =>
  t.call('POST', '/v1/gdpr-requests', { body, ...(key ? { key } : {}) });

type CompletedRequest = Request & {
  job: Job;
  auditTrail: { action: string; objectId: string }[];
};

/** The request once it says `completed`. */
const whenCompleted = (id: string) =>
  eventually(async () => {
    const row = (await t.call('GET', `/v1/gdpr-requests/${id}`)).json<CompletedRequest>();
    return row.status === 'completed' ? row : undefined;
  }, 20_000);

/** A completion record's counts by place. */
const placesOf = (request: Request) =>
  Object.fromEntries(request.completionRecord!.places.map((p) => [p.place, p.count]));

describe('recording an erasure request', () => {
  it('answers 201 with the deadline 30 days out, and starts its workflow with due date and status', async () => {
    const customerId = await newCustomer();
    const reference = `TICKET-${uniqueWord()}`;
    const receivedAt = new Date(Date.now() - 2 * DAY - 3_600_000).toISOString();
    const response = await post({ customerId, receivedAt, reference });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json<Request>();
    expect(created).toMatchObject({
      customerId,
      reference,
      receivedAt,
      status: 'open',
      daysLeft: 28,
      resolvedFrom: null,
      workflowId: `gdpr-request-${created.id}`,
    });
    expect(Date.parse(created.dueAt) - Date.parse(receivedAt)).toBe(30 * DAY);

    const handle = t.temporal.workflow.getHandle(created.workflowId);
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(searchAttributes.gdprStatus)).toBe('open');
    expect(description.typedSearchAttributes.get(searchAttributes.gdprDueAt)?.toISOString()).toBe(
      created.dueAt,
    );
    expect(description.typedSearchAttributes.get(searchAttributes.customerIds)).toEqual([
      customerId,
    ]);
    // The ticket reference stays in Postgres.
    expect(await decodedHistory(t.temporal, created.workflowId)).not.toContain(reference);

    const detail = (await t.call('GET', `/v1/gdpr-requests/${created.id}`)).json<{
      auditTrail: { action: string; details: object }[];
      job: unknown;
    }>();
    expect(detail.job).toBeNull();
    expect(detail.auditTrail).toMatchObject([
      { action: 'gdpr_request.created', details: { customerId } },
    ]);
  });

  it('defaults receivedAt to now', async () => {
    const before = Date.now();
    const created = (await post({ customerId: await newCustomer() })).json<Request>();
    expect(Date.parse(created.receivedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(created.daysLeft).toBe(30);
  });

  it('refuses a second open request, an unknown customer, and impossible receivedAt times', async () => {
    const customerId = await newCustomer();
    expect((await post({ customerId })).statusCode).toBe(201);
    const again = await post({ customerId });
    expect(again.statusCode).toBe(409);
    expect(problemOf(again).code).toBe('REQUEST_ALREADY_OPEN');

    const unknown = await post({ customerId: randomUUID() });
    expect(unknown.statusCode).toBe(404);
    expect(problemOf(unknown).code).toBe('CUSTOMER_NOT_FOUND');

    const other = await newCustomer();
    for (const [receivedAt, code] of [
      [new Date(Date.now() + DAY).toISOString(), 'RECEIVED_AT_IN_FUTURE'],
      [new Date(Date.now() - 400 * DAY).toISOString(), 'RECEIVED_AT_OUT_OF_RANGE'],
      ['yesterday', 'VALIDATION_FAILED'],
    ] as const) {
      const refused = await post({ customerId: other, receivedAt });
      expect(problemOf(refused).code).toBe(code);
    }
    expect(problemOf(await post({ customerId: other, extra: 1 })).code).toBe('VALIDATION_FAILED');
    const rows = await t.db.select().from(gdprRequests).where(eq(gdprRequests.customerId, other));
    expect(rows).toHaveLength(0);
  });

  it('lets exactly one of ten simultaneous requests for the same customer through', async () => {
    const customerId = await newCustomer();
    const responses = await Promise.all(Array.from({ length: 10 }, () => post({ customerId })));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array<number>(9).fill(409)]);
    for (const refused of responses.filter((r) => r.statusCode === 409)) {
      expect(problemOf(refused).code).toBe('REQUEST_ALREADY_OPEN');
    }
    const rows = await t.db
      .select()
      .from(gdprRequests)
      .where(eq(gdprRequests.customerId, customerId));
    expect(rows).toHaveLength(1);
  });

  it('gives back the same request for a retry with the same Idempotency-Key, also when sent at once', async () => {
    const customerId = await newCustomer();
    const key = `gdpr-${randomUUID()}`;
    const reference = `TICKET-${uniqueWord()}`;
    const send = () =>
      t.call('POST', '/v1/gdpr-requests', {
        body: { customerId, reference },
        headers: { 'idempotency-key': key },
      });
    const responses = await Promise.all(Array.from({ length: 10 }, send));
    for (const response of responses) expect(response.statusCode, response.body).toBe(201);
    const ids = new Set(responses.map((response) => response.json<Request>().id));
    expect(ids.size).toBe(1);
    const later = await send();
    expect(later.statusCode, later.body).toBe(201);
    expect(later.json<Request>()).toMatchObject({
      id: [...ids][0],
      customerId,
      reference,
      status: 'open',
    });
    const rows = await t.db
      .select()
      .from(gdprRequests)
      .where(eq(gdprRequests.customerId, customerId));
    expect(rows).toHaveLength(1);
    const described = await t.temporal.workflow.getHandle(`gdpr-request-${rows[0]!.id}`).describe();
    expect(described.status.name).toBe('RUNNING');

    // The key names that request: another customer or reference under it is refused.
    const otherCustomer = await t.call('POST', '/v1/gdpr-requests', {
      body: { customerId: await newCustomer(), reference },
      headers: { 'idempotency-key': key },
    });
    expect(problemOf(otherCustomer)).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    const otherReference = await t.call('POST', '/v1/gdpr-requests', {
      body: { customerId, reference: 'ANOTHER' },
      headers: { 'idempotency-key': key },
    });
    expect(problemOf(otherReference)).toMatchObject({
      status: 422,
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    // Without the key, a second request for the customer is still refused.
    expect(problemOf(await post({ customerId }))).toMatchObject({ code: 'REQUEST_ALREADY_OPEN' });
  });

  it('resolves a merged-away customer to the survivor and says so', async () => {
    const source = await newCustomer();
    const target = await newCustomer();
    const { job } = (
      await t.call('POST', '/v1/merges', {
        body: { sourceCustomerId: source, targetCustomerId: target },
      })
    ).json<{ job: { id: string } }>();
    expect((await t.call('POST', `/v1/merges/${job.id}/confirm`)).statusCode).toBe(200);

    const response = await post({ customerId: source });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json<Request>()).toMatchObject({ customerId: target, resolvedFrom: source });
    expect(problemOf(await post({ customerId: target })).code).toBe('REQUEST_ALREADY_OPEN');
  });

  it('needs gdpr.manage', async () => {
    const customerId = await newCustomer();
    const outsider = await userWithKey(t.db, {
      permissions: ['customers.read', 'customers.write', 'customers.merge', 'customers.delete'],
    });
    const officer = await userWithKey(t.db, { permissions: ['gdpr.manage'] });
    const refused = await post({ customerId }, outsider.key);
    expect(refused.statusCode).toBe(403);
    expect((await t.call('GET', '/v1/gdpr-requests', { key: outsider.key })).statusCode).toBe(403);
    expect((await post({ customerId }, officer.key)).statusCode).toBe(201);
  });
});

describe('declining a request', () => {
  it('closes it with reason and note, ends its workflow, and frees the customer for a new request', async () => {
    const customerId = await newCustomer();
    const created = (await post({ customerId })).json<Request>();
    const note = `Litigation hold ${uniqueWord()}`;
    const response = await t.call('POST', `/v1/gdpr-requests/${created.id}/decline`, {
      body: { reason: 'legal_hold', note },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<Request>()).toMatchObject({
      status: 'declined',
      daysLeft: null,
      decline: { reason: 'legal_hold', note },
    });
    const handle = t.temporal.workflow.getHandle(created.workflowId);
    expect(await handle.result()).toMatchObject({ status: 'declined', onTime: true });
    expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.gdprStatus)).toBe(
      'declined',
    );
    expect(await decodedHistory(t.temporal, created.workflowId)).not.toContain(note);

    const again = await t.call('POST', `/v1/gdpr-requests/${created.id}/decline`, {
      body: { reason: 'other' },
    });
    expect(again.statusCode).toBe(409);
    expect(problemOf(again).code).toBe('REQUEST_CLOSED');
    const bad = await t.call('POST', `/v1/gdpr-requests/${created.id}/decline`, {
      body: { reason: 'because' },
    });
    expect(problemOf(bad).code).toBe('VALIDATION_FAILED');

    const detail = (await t.call('GET', `/v1/gdpr-requests/${created.id}`)).json<{
      auditTrail: { action: string; details: Record<string, unknown> }[];
    }>();
    expect(detail.auditTrail.map((e) => e.action)).toEqual([
      'gdpr_request.created',
      'gdpr_request.declined',
    ]);
    expect(JSON.stringify(detail.auditTrail)).not.toContain(note);
    expect((await post({ customerId })).statusCode).toBe(201);
  });

  it("erases the note once the customer's data is erased", async () => {
    const customerId = await newCustomer();
    const declined = (await post({ customerId })).json<Request>();
    await t.call('POST', `/v1/gdpr-requests/${declined.id}/decline`, {
      body: { reason: 'contract', note: 'Open invoice dispute' },
    });
    const second = (await post({ customerId })).json<Request>();
    const jobId = await finishedDeleteJob(t, customerId, 'completed', { customers: 1 });
    await completeGdprRequest(t.db, second.id, jobId, new Date());
    const after = (await t.call('GET', `/v1/gdpr-requests/${declined.id}`)).json<Request>();
    expect(after.decline).toEqual({ reason: 'contract', note: null, declinedBy: t.adminId });
  });
});

describe('listing and reporting', () => {
  it('lists by deadline with days left, negative when overdue, filtered by status, page by page', async () => {
    const customerId = await newCustomer();
    // One open request per customer: each is closed before the next, the last stays open.
    const ages = [40, 20, 35, 5];
    const ids: string[] = [];
    for (const age of ages) {
      const created = (
        await post({ customerId, receivedAt: new Date(Date.now() - age * DAY).toISOString() })
      ).json<Request>();
      ids.push(created.id);
      if (age !== 5) {
        await eventually(async () => {
          const row = (await t.call('GET', `/v1/gdpr-requests/${created.id}`)).json<Request>();
          return row.status === (age > 30 ? 'overdue' : 'open') ? row : undefined;
        });
        await t.call('POST', `/v1/gdpr-requests/${created.id}/decline`, {
          body: { reason: 'other' },
        });
      }
    }
    const list = async (query: string) =>
      (await t.call('GET', `/v1/gdpr-requests?customerId=${customerId}&${query}`)).json<{
        items: Request[];
        nextCursor: string | null;
      }>();
    const open = await list('status=open');
    expect(open.items.map((r) => [r.id, r.daysLeft])).toEqual([[ids[3], 25]]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([ids[0], ids[2], ids[1], ids[3]]);
    expect((await list('status=declined')).items).toHaveLength(3);
  });

  it('shows an overdue request with negative days left', async () => {
    const customerId = await newCustomer();
    const created = (
      await post({ customerId, receivedAt: new Date(Date.now() - 33 * DAY).toISOString() })
    ).json<Request>();
    const overdue = await eventually(async () => {
      const page = (
        await t.call('GET', `/v1/gdpr-requests?status=overdue&customerId=${customerId}`)
      ).json<{ items: Request[] }>();
      return page.items[0];
    });
    expect(overdue).toMatchObject({ id: created.id, status: 'overdue', daysLeft: -3 });
  });

  it('reports received, on time, late, declined, open, overdue and the median days to completion', async () => {
    // A window of its own, far enough back that no other test records requests in it.
    const start = Date.now() - (300 + Math.random() * 50) * DAY;
    const at = (days: number) => new Date(start + days * DAY);
    const make = async (receivedDays: number) => {
      const customerId = await newCustomer();
      const created = (
        await post({ customerId, receivedAt: at(receivedDays).toISOString() })
      ).json<Request>();
      return { ...created, customerId };
    };
    const onTime = await make(0);
    await completeGdprRequest(
      t.db,
      onTime.id,
      await finishedDeleteJob(t, onTime.customerId, 'completed', { customers: 1 }),
      at(10),
    );
    const late = await make(0.5);
    await completeGdprRequest(
      t.db,
      late.id,
      await finishedDeleteJob(t, late.customerId, 'completed', { customers: 1 }),
      at(40.5),
    );
    const declined = await make(1);
    await t.call('POST', `/v1/gdpr-requests/${declined.id}/decline`, { body: { reason: 'other' } });
    const stillOpen = await make(2);
    await eventually(async () =>
      (await t.call('GET', `/v1/gdpr-requests/${stillOpen.id}`)).json<Request>().status ===
      'overdue'
        ? true
        : undefined,
    );

    const report = await t.call(
      'GET',
      `/v1/gdpr-requests/report?from=${at(-0.1).toISOString()}&to=${at(3).toISOString()}`,
    );
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json()).toMatchObject({
      received: 4,
      completedOnTime: 1,
      completedLate: 1,
      declined: 1,
      open: 0,
      overdue: 1,
      medianDaysToCompletion: 25,
    });
    const backwards = await t.call('GET', '/v1/gdpr-requests/report?from=2026-02-01&to=2026-01-01');
    expect(problemOf(backwards).code).toBe('INVALID_DATE_RANGE');
    const dates = await t.call('GET', '/v1/gdpr-requests/report?from=2026-01-01&to=2026-02-01');
    expect(dates.statusCode).toBe(200);
  });
});

describe('erasing the customer of a request', () => {
  it('runs the deletion job, completes the request with where the data was erased from, and keeps the proof', async () => {
    const klass = `k${uniqueWord('')}`;
    await t.create('/v1/klasses', { name: klass, title: 'Erasure' });
    const customer = await customerWithItems(t, {
      name: `Erase Me ${uniqueWord()}`,
      klass,
      conversations: 2,
      kobjects: 1,
    });
    const created = (await post({ customerId: customer.id })).json<Request>();
    const response = await t.call('POST', `/v1/gdpr-requests/${created.id}/erase`);
    expect([200, 202]).toContain(response.statusCode);
    const { job } = response.json<{ request: Request; job: Job }>();
    expect(job).toMatchObject({ type: 'delete', params: { entity: 'customer', id: customer.id } });

    const done = await whenCompleted(created.id);
    expect(done.job).toMatchObject({ id: job.id, status: 'completed' });
    expect(done.completedAt).not.toBeNull();
    const places = placesOf(done);
    expect(places).toMatchObject({
      customers: 1,
      conversations: 2,
      messages: 2,
      kobjects: 1,
      searchDocuments: 4,
    });
    expect('notifications' in places && 'jobRecords' in places).toBe(true);
    const actions = done.auditTrail.map((e) => e.action);
    expect(actions.slice(0, 2)).toEqual(['gdpr_request.created', 'gdpr_request.erasure_started']);
    expect(actions).toContain('customer.deleted');
    expect(actions.at(-1)).toBe('gdpr_request.completed');
    expect((await t.call('GET', `/v1/customers/${customer.id}`)).statusCode).toBe(404);
    expect(await t.temporal.workflow.getHandle(created.workflowId).result()).toEqual({
      status: 'completed',
      onTime: true,
    });

    const again = await t.call('POST', `/v1/gdpr-requests/${created.id}/erase`);
    expect(problemOf(again)).toMatchObject({ status: 409, code: 'REQUEST_CLOSED' });
  });

  it('links the deletion job that already erased the customer instead of starting another', async () => {
    const customerId = await newCustomer();
    const created = (await post({ customerId })).json<Request>();
    const deleted = await t.call('DELETE', `/v1/customers/${customerId}`, {
      body: { confirm: 'DELETE' },
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const deleteJob = deleted.json<{ job: Job }>().job;

    const response = await t.call('POST', `/v1/gdpr-requests/${created.id}/erase`);
    expect([200, 202]).toContain(response.statusCode);
    expect(response.json<{ job: Job }>().job.id).toBe(deleteJob.id);
    const done = await whenCompleted(created.id);
    expect(done.completionRecord).toMatchObject({ jobId: deleteJob.id });
    const deletions = await t.db.select().from(jobs).where(eq(jobs.type, 'delete'));
    expect(deletions.filter((job) => job.params.id === customerId)).toHaveLength(1);
  });

  it("links a bulk erasure that erased the customer, with that customer's own counts as the proof", async () => {
    const klass = `k${uniqueWord('')}`;
    await t.create('/v1/klasses', { name: klass, title: 'Bulk erasure' });
    const [mine, other] = await Promise.all([
      customerWithItems(t, {
        name: `Bulk Mine ${uniqueWord()}`,
        klass,
        conversations: 2,
        kobjects: 1,
      }),
      customerWithItems(t, {
        name: `Bulk Other ${uniqueWord()}`,
        klass,
        conversations: 3,
        kobjects: 2,
      }),
    ]);
    const created = (await post({ customerId: mine.id })).json<Request>();
    const { job: bulkJob } = await startBulkErasure(t, {
      entity: 'customers',
      ids: [other.id, mine.id],
    });
    await eventually(async () => {
      const job = (await t.call('GET', `/v1/jobs/${bulkJob.id}`)).json<Job>();
      return job.status === 'completed' ? job : undefined;
    }, 30_000);

    const response = await t.call('POST', `/v1/gdpr-requests/${created.id}/erase`);
    expect([200, 202], response.body).toContain(response.statusCode);
    expect(response.json<{ job: Job }>().job.id).toBe(bulkJob.id);
    const done = await whenCompleted(created.id);
    expect(done.completionRecord).toMatchObject({ jobId: bulkJob.id, customerId: mine.id });
    const places = placesOf(done);
    // This customer's rows only, not the whole job's.
    expect(places).toEqual({
      customers: 1,
      conversations: 2,
      messages: 2,
      kobjects: 1,
      events: 0,
      exportArchives: 0,
      searchDocuments: 4,
    });
    const deletions = await t.db.select().from(jobs).where(eq(jobs.type, 'delete'));
    expect(deletions.filter((job) => job.params.id === mine.id)).toHaveLength(0);
  });

  it('erases decline notes when the customer is deleted by any deletion', async () => {
    const customerId = await newCustomer();
    const created = (await post({ customerId })).json<Request>();
    await t.call('POST', `/v1/gdpr-requests/${created.id}/decline`, {
      body: { reason: 'legal_hold', note: 'Kept for the audit of 2026' },
    });
    const deleted = await t.call('DELETE', `/v1/customers/${customerId}`, {
      body: { confirm: 'DELETE' },
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const after = (await t.call('GET', `/v1/gdpr-requests/${created.id}`)).json<Request>();
    expect(after.decline).toMatchObject({ reason: 'legal_hold', note: null });
  });
});

describe('while an erasure is pending', () => {
  async function pair() {
    const klass = `k${uniqueWord('')}`;
    await t.create('/v1/klasses', { name: klass, title: 'Pending' });
    const a = await customerWithItems(t, {
      name: `A ${uniqueWord()}`,
      klass,
      conversations: 1,
      kobjects: 1,
    });
    const b = await customerWithItems(t, { name: `B ${uniqueWord()}`, klass, conversations: 1 });
    return { a, b };
  }
  const ownerOf = async (table: typeof conversations | typeof kobjects, id: string) =>
    (await t.db.select({ customerId: table.customerId }).from(table).where(eq(table.id, id)))[0]
      ?.customerId;

  it('refuses merges, splits and moves into or out of the customer with ERASURE_PENDING', async () => {
    const { a, b } = await pair();
    const request = (await post({ customerId: a.id })).json<Request>();
    const attempts = [
      ['merges', { sourceCustomerId: a.id, targetCustomerId: b.id }],
      ['merges', { sourceCustomerId: b.id, targetCustomerId: a.id }],
      [
        'splits',
        { sourceCustomerId: a.id, targetCustomerId: b.id, conversationIds: a.conversationIds },
      ],
      [
        'splits',
        { sourceCustomerId: b.id, targetCustomerId: a.id, conversationIds: b.conversationIds },
      ],
      ['kobject-moves', { kobjectIds: a.kobjectIds, targetCustomerId: b.id }],
    ] as const;
    for (const [path, body] of attempts) {
      const refused = await t.call('POST', `/v1/${path}`, { body });
      expect(problemOf(refused), `${path} ${JSON.stringify(body)}`).toMatchObject({
        status: 409,
        code: 'ERASURE_PENDING',
      });
    }
    expect(await ownerOf(conversations, a.conversationIds[0]!)).toBe(a.id);
    expect(await ownerOf(kobjects, a.kobjectIds[0]!)).toBe(a.id);
    expect((await t.call('GET', `/v1/customers/${b.id}`)).statusCode).toBe(200);

    // Closing the request lifts the refusal.
    await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, { body: { reason: 'other' } });
    const allowed = await t.call('POST', '/v1/kobject-moves', {
      body: { kobjectIds: a.kobjectIds, targetCustomerId: b.id },
    });
    expect(allowed.statusCode, allowed.body).toBe(201);
  });

  it('refuses the confirm of a merge, split or move previewed before the request arrived', async () => {
    const { a, b } = await pair();
    const previews = [
      ['merges', { sourceCustomerId: b.id, targetCustomerId: a.id }],
      [
        'splits',
        { sourceCustomerId: a.id, targetCustomerId: b.id, conversationIds: a.conversationIds },
      ],
      ['kobject-moves', { kobjectIds: a.kobjectIds, targetCustomerId: b.id }],
    ] as const;
    const jobIds: [string, string][] = [];
    for (const [path, body] of previews) {
      const previewed = await t.call('POST', `/v1/${path}`, { body });
      expect(previewed.statusCode, previewed.body).toBe(201);
      jobIds.push([path, previewed.json<{ job: Job }>().job.id]);
    }
    expect((await post({ customerId: a.id })).statusCode).toBe(201);
    for (const [path, jobId] of jobIds) {
      const refused = await t.call('POST', `/v1/${path}/${jobId}/confirm`);
      expect(problemOf(refused), path).toMatchObject({ status: 409, code: 'ERASURE_PENDING' });
    }
    expect(await ownerOf(conversations, a.conversationIds[0]!)).toBe(a.id);
    expect(await ownerOf(conversations, b.conversationIds[0]!)).toBe(b.id);
    expect(await ownerOf(kobjects, a.kobjectIds[0]!)).toBe(a.id);
  });
});
