import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, conversations, customers, kobjects } from '../../db/schema';
import { searchAttributes } from '../../workflows/contracts';
import {
  defineAttributes,
  problemOf,
  uniqueWord,
  userWithKey,
  type TestApp,
  decodedHistory,
} from '../helpers';
import { descriptionWhen, startJobTestApp } from '../job-helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
  await defineAttributes(t, 'customer', { plan: 'text', region: 'text' });
});
afterAll(() => t.close());

interface Job {
  id: string;
  status: string;
  workflowId: string;
  temporalUiUrl: string;
  preview: {
    conversations: { id: string; subject: string; status: string; channel: string }[];
    kobjects: { id: string; klass: string; title: string }[];
    emailsAdded: string[];
    phonesAdded: string[];
    counts: { conversations: number; kobjects: number; total: number };
  };
  result: { counts: Record<string, number> } | null;
  error: { code: string } | null;
  expiresAt: string;
}

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);

async function customerWithItems(
  name: string,
  extra: Record<string, unknown>,
  conversationCount: number,
  kobjectCount: number,
) {
  const customer = await post('/v1/customers', { name, ...extra });
  const conversationIds = [];
  for (let i = 0; i < conversationCount; i++) {
    conversationIds.push(
      (
        await post(`/v1/customers/${customer.id}/conversations`, {
          channel: 'email',
          subject: `${name} #${i}`,
        })
      ).id,
    );
  }
  const kobjectIds = [];
  for (let i = 0; i < kobjectCount; i++) {
    kobjectIds.push(
      (await post(`/v1/customers/${customer.id}/kobjects`, { klass, title: `${name} order ${i}` }))
        .id,
    );
  }
  return { id: customer.id, conversationIds, kobjectIds };
}

async function preview(
  sourceCustomerId: string,
  targetCustomerId: string,
  headers: Record<string, string> = {},
) {
  return t.call('POST', '/v1/merges', { body: { sourceCustomerId, targetCustomerId }, headers });
}

async function itemCount(customerId: string): Promise<number> {
  const c = await t.db
    .select({ id: conversations.id })
    .from(conversations)
    .where(eq(conversations.customerId, customerId));
  const k = await t.db
    .select({ id: kobjects.id })
    .from(kobjects)
    .where(eq(kobjects.customerId, customerId));
  return c.length + k.length;
}

describe('merging customers', () => {
  it('counts two spellings of one phone number as one, in the preview and the merge', async () => {
    const word = uniqueWord('spell');
    const source = await customerWithItems(
      `Source ${word}`,
      { phones: [{ number: '020 7946 0958' }, { number: '0044 20 7946 0959' }] },
      0,
      0,
    );
    const target = await customerWithItems(
      `Target ${word}`,
      { phones: [{ number: '+44 (20) 7946-0958' }] },
      0,
      0,
    );

    const started = await preview(source.id, target.id);
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();
    expect(job.preview.phonesAdded).toEqual(['0044 20 7946 0959']);

    const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json<{ job: Job }>().job).toMatchObject({
      status: 'completed',
      result: { counts: { phonesAdded: 1 } },
    });
    const survivor = (await t.call('GET', `/v1/customers/${target.id}`)).json<{
      phones: unknown[];
    }>();
    expect(survivor.phones).toEqual([
      { number: '+44 (20) 7946-0958', e164: '+442079460958', preferred: true },
      { number: '0044 20 7946 0959', e164: '+442079460959', preferred: false },
    ]);
  });

  it('previews, confirms and merges: items move, contacts unite, the source redirects, search follows', async () => {
    const word = uniqueWord('merge');
    const source = await customerWithItems(
      `Source ${word}`,
      {
        emails: [{ address: `old.${word}@example.com` }, { address: `SHARED.${word}@example.com` }],
        phones: [{ number: '+44 20 7946 0001' }],
        externalId: `ext-${word}`,
        customAttributes: { plan: 'silver', region: 'eu' },
      },
      2,
      1,
    );
    const target = await customerWithItems(
      `Target ${word}`,
      {
        emails: [{ address: `shared.${word}@example.com` }],
        phones: [{ number: '+1 202 555 0100' }],
        customAttributes: { plan: 'gold' },
      },
      1,
      0,
    );

    const started = await preview(source.id, target.id);
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();
    expect(job.status).toBe('awaiting_confirmation');
    expect(job.workflowId).toBe(`merge-${job.id}`);
    expect(job.temporalUiUrl).toContain(`/workflows/merge-${job.id}`);
    expect(job.preview.counts).toEqual({ conversations: 2, kobjects: 1, total: 3 });
    expect(job.preview.conversations.map((c) => c.id).sort()).toEqual(
      [...source.conversationIds].sort(),
    );
    expect(job.preview.kobjects).toEqual([
      { id: source.kobjectIds[0], klass, title: `Source ${word} order 0` },
    ]);
    expect(job.preview.emailsAdded).toEqual([`old.${word}@example.com`]);
    expect(job.preview.phonesAdded).toEqual(['+44 20 7946 0001']);
    expect(Date.parse(job.expiresAt)).toBeGreaterThan(Date.now());

    const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json<{ job: Job }>().job).toMatchObject({
      status: 'completed',
      result: { counts: { conversations: 2, kobjects: 1, emailsAdded: 1, phonesAdded: 1 } },
    });

    expect(await itemCount(target.id)).toBe(4);
    const survivor = (await t.call('GET', `/v1/customers/${target.id}`)).json<
      Record<string, unknown>
    >();
    expect(survivor).toMatchObject({
      name: `Target ${word}`,
      externalId: `ext-${word}`,
      customAttributes: { plan: 'gold', region: 'eu' },
      emails: [
        { address: `shared.${word}@example.com`, preferred: true },
        { address: `old.${word}@example.com`, preferred: false },
      ],
      phones: [
        { number: '+1 202 555 0100', e164: '+12025550100', preferred: true },
        { number: '+44 20 7946 0001', e164: '+442079460001', preferred: false },
      ],
    });
    const gone = await t.call('GET', `/v1/customers/${source.id}`);
    expect(gone.statusCode).toBe(308);
    expect(gone.headers.location).toBe(`/v1/customers/${target.id}`);

    const audit = await t.db.select().from(auditLog).where(eq(auditLog.jobId, job.id));
    expect(audit.map((a) => a.action).sort()).toEqual(['customer.merged', 'customer.merged_away']);
    expect(JSON.stringify(audit)).not.toContain(word);

    // The job reported completed only after the index was brought up to date.
    const search = (path: string) =>
      t.call('GET', path).then((r) => r.json<{ hits: { id: string }[] }>().hits.map((h) => h.id));
    expect(await search(`/v1/search/customers?q=Source%20${word}`)).not.toContain(source.id);
    expect(
      await search(`/v1/search/customers?q=${encodeURIComponent(`old.${word}@example.com`)}`),
    ).toEqual([target.id]);
    expect(await search(`/v1/search/conversations?q=${word}&customer=${target.id}`)).toHaveLength(
      3,
    );

    const fetched = await t.call('GET', `/v1/jobs/${job.id}`);
    expect(fetched.json()).toMatchObject({ id: job.id, type: 'merge', status: 'completed' });
  });

  it('leads chains of merges to the last survivor', async () => {
    const [a, b, c] = await Promise.all(
      ['A', 'B', 'C'].map((n) => post('/v1/customers', { name: n })),
    );
    const steps: [{ id: string }, { id: string }][] = [
      [a!, b!],
      [b!, c!],
    ];
    for (const [from, to] of steps) {
      const { job } = (await preview(from.id, to.id)).json<{ job: Job }>();
      expect((await t.call('POST', `/v1/merges/${job.id}/confirm`)).statusCode).toBe(200);
    }
    for (const id of [a!.id, b!.id]) {
      const response = await t.call('GET', `/v1/customers/${id}`);
      expect(response.statusCode).toBe(308);
      expect(response.headers.location).toBe(`/v1/customers/${c!.id}`);
    }
  });

  it('refuses more than the merge limit with 422 MERGE_LIMIT_EXCEEDED, rejects the job and changes nothing', async () => {
    const source = await customerWithItems('Big source', {}, 0, 0);
    const target = await customerWithItems('Big target', {}, 0, 0);
    await t.db.execute(sql`
      insert into conversations (customer_id, channel, subject)
      select ${source.id}::uuid, 'chat', 'bulk' from generate_series(1, 600)`);
    await t.db.execute(sql`
      insert into conversations (customer_id, channel, subject)
      select ${target.id}::uuid, 'chat', 'bulk' from generate_series(1, 401)`);
    const response = await preview(source.id, target.id);
    expect(response.statusCode).toBe(422);
    const problem = problemOf(response);
    expect(problem.code).toBe('MERGE_LIMIT_EXCEEDED');
    expect(problem.detail).toContain('600');
    expect(problem.detail).toContain('401');
    // The advice is one that can work: 1001 items against a limit of 1000 means one must go.
    expect(problem.detail).toMatch(/at least 1 item off these two profiles/);
    expect(problem.detail).toMatch(/third customer/);
    const job = await t.call('GET', `/v1/jobs/${problem.jobId as string}`);
    const rejected = job.json<{ status: string; workflowId: string }>();
    expect(rejected).toMatchObject({
      status: 'rejected',
      error: { code: 'MERGE_LIMIT_EXCEEDED' },
    });
    // Temporal UI shows the refused job as Failed with its code, not as a Completed workflow.
    const described = await descriptionWhen(t, rejected.workflowId, 'rejected');
    const handle = t.temporal.workflow.getHandle(rejected.workflowId);
    await expect(handle.result()).rejects.toMatchObject({
      cause: { type: 'MERGE_LIMIT_EXCEEDED' },
    });
    expect((await handle.describe()).status.name).toBe('FAILED');
    expect(described.typedSearchAttributes.get(searchAttributes.jobStatus)).toBe('rejected');
    expect(await itemCount(source.id)).toBe(600);
  });

  it('refuses the same customer twice (422), an unknown customer (404) and a caller without customers.merge (403)', async () => {
    const customer = await post('/v1/customers', { name: 'Lonely' });
    expect(problemOf(await preview(customer.id, customer.id))).toMatchObject({
      status: 422,
      code: 'SAME_CUSTOMER',
    });
    expect(problemOf(await preview(customer.id, randomUUID()))).toMatchObject({
      status: 404,
      code: 'CUSTOMER_NOT_FOUND',
    });
    const member = await userWithKey(t.db, { permissions: ['searches.read'] });
    const other = await post('/v1/customers', { name: 'Other' });
    const forbidden = await t.call('POST', '/v1/merges', {
      key: member.key,
      body: { sourceCustomerId: customer.id, targetCustomerId: other.id },
    });
    expect(problemOf(forbidden)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('gives back the same job for the same Idempotency-Key', async () => {
    const [a, b] = await Promise.all(
      ['Idem A', 'Idem B'].map((n) => post('/v1/customers', { name: n })),
    );
    const key = randomUUID();
    const first = await preview(a!.id, b!.id, { 'idempotency-key': key });
    const second = await preview(a!.id, b!.id, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    expect(second.json<{ job: Job }>().job.id).toBe(first.json<{ job: Job }>().job.id);
  });

  it('refuses a confirm after the timelines changed with 409 PREVIEW_STALE and changes nothing', async () => {
    const source = await customerWithItems('Stale source', {}, 1, 0);
    const target = await customerWithItems('Stale target', {}, 1, 0);
    const { job } = (await preview(source.id, target.id)).json<{ job: Job }>();
    await post(`/v1/customers/${target.id}/conversations`, {
      channel: 'sms',
      subject: 'arrived after the preview',
    });
    const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(409);
    expect(problemOf(confirmed).code).toBe('PREVIEW_STALE');
    expect(await itemCount(source.id)).toBe(1);
    expect(await itemCount(target.id)).toBe(2);
    expect((await t.call('GET', `/v1/jobs/${job.id}`)).json()).toMatchObject({
      status: 'failed',
      error: { code: 'PREVIEW_STALE' },
    });
    expect(problemOf(await t.call('POST', `/v1/merges/${job.id}/confirm`))).toMatchObject({
      status: 409,
      code: 'JOB_NOT_AWAITING_CONFIRMATION',
    });
  });

  it('cancels a merge awaiting confirmation, and then refuses to confirm it', async () => {
    const [a, b] = await Promise.all(
      ['Cancel A', 'Cancel B'].map((n) => post('/v1/customers', { name: n })),
    );
    const { job } = (await preview(a!.id, b!.id)).json<{ job: Job }>();
    const cancelled = await t.call('POST', `/v1/merges/${job.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json<{ job: Job }>().job.status).toBe('cancelled');
    const confirm = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(problemOf(confirm)).toMatchObject({
      status: 409,
      code: 'JOB_NOT_AWAITING_CONFIRMATION',
    });
    expect(problemOf(confirm).detail).toContain('cancelled');
    expect((await t.call('GET', `/v1/customers/${a!.id}`)).statusCode).toBe(200);
  });

  it('lets exactly one of two conflicting merges confirmed at once complete', async () => {
    const a = await customerWithItems('Race A', {}, 2, 1);
    const b = await customerWithItems('Race B', {}, 1, 1);
    const first = (await preview(a.id, b.id)).json<{ job: Job }>().job;
    const second = (await preview(b.id, a.id)).json<{ job: Job }>().job;
    const responses = await Promise.all(
      [first, second].map((job) => t.call('POST', `/v1/merges/${job.id}/confirm`)),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 409]);
    const loser = responses.find((r) => r.statusCode === 409)!;
    expect(problemOf(loser).code).toBe('PREVIEW_STALE');
    const remaining = await t.db
      .select({ id: customers.id })
      .from(customers)
      .where(sql`${customers.id} in (${a.id}, ${b.id})`);
    expect(remaining).toHaveLength(1);
    expect(await itemCount(remaining[0]!.id)).toBe(5);
  });

  it('keeps personal data out of the workflow history and shows the job in Temporal', async () => {
    const word = uniqueWord('secret');
    const source = await post('/v1/customers', {
      name: `Zelda ${word}`,
      emails: [{ address: `zelda.${word}@example.com` }],
      phones: [{ number: '+49 30 1234 5678' }],
    });
    const target = await post('/v1/customers', {
      name: `Link ${word}`,
      emails: [{ address: `link.${word}@example.com` }],
    });
    await post(`/v1/customers/${source.id}/conversations`, {
      channel: 'email',
      subject: `Subject ${word}`,
      messages: [{ direction: 'inbound', body: `Body ${word}` }],
    });
    const { job } = (await preview(source.id, target.id)).json<{ job: Job }>();
    expect((await t.call('POST', `/v1/merges/${job.id}/confirm`)).statusCode).toBe(200);

    const decoded = await decodedHistory(t.temporal, job.workflowId);
    // The phone as typed and as digits; '+49' alone also matches the worker's build ID (a hash).
    for (const secret of [word, 'zelda', '1234 5678', '+49 30', '493012345678'])
      expect(decoded.toLowerCase()).not.toContain(secret);

    const description = await descriptionWhen(t, job.workflowId, 'completed');
    expect(description.typedSearchAttributes.get(searchAttributes.jobType)).toBe('merge');
    expect(description.typedSearchAttributes.get(searchAttributes.jobId)).toBe(job.id);
    expect(description.typedSearchAttributes.get(searchAttributes.customerIds)).toEqual([
      source.id,
      target.id,
    ]);
    expect(description.typedSearchAttributes.get(searchAttributes.startedBy)).toBe(t.adminId);
    expect(await description.staticSummary()).toBe(`Merge customer ${source.id} into ${target.id}`);
  });
});
