import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, testConfig, uniqueWord, userWithKey, type TestApp } from '../helpers';
import { startJobTestApp, type Job } from '../job-helpers';

let t: TestApp;
beforeAll(async () => {
  ({ t } = await startJobTestApp());
});
afterAll(() => t.close());

const customer = async () => (await t.create('/v1/customers', { name: `Job ${uniqueWord()}` })).id;

describe('jobs belong to their starter', () => {
  it('hides a job from other users, who can neither see, confirm nor cancel it', async () => {
    const [alice, mallory] = [
      await userWithKey(t.db, {
        permissions: ['customers.read', 'customers.write', 'customers.merge'],
      }),
      await userWithKey(t.db, {
        permissions: ['customers.read', 'customers.write', 'customers.merge'],
      }),
    ];
    const [source, target] = [await customer(), await customer()];
    const started = await t.call('POST', '/v1/merges', {
      key: alice.key,
      body: { sourceCustomerId: source, targetCustomerId: target },
    });
    expect(started.statusCode, started.body).toBe(201);
    const job = started.json<{ job: Job }>().job;

    for (const [method, url] of [
      ['GET', `/v1/jobs/${job.id}`],
      ['POST', `/v1/merges/${job.id}/confirm`],
      ['POST', `/v1/merges/${job.id}/cancel`],
    ] as const) {
      const response = await t.call(method, url, { key: mallory.key });
      expect(problemOf(response), `${method} ${url}`).toMatchObject({
        status: 404,
        code: 'JOB_NOT_FOUND',
      });
    }
    const listed = await t.call('GET', '/v1/jobs?type=merge', { key: mallory.key });
    expect(listed.json<{ items: Job[] }>().items.map((j) => j.id)).not.toContain(job.id);

    expect((await t.call('GET', `/v1/jobs/${job.id}`)).statusCode).toBe(200);
    const mine = await t.call('GET', `/v1/jobs/${job.id}`, { key: alice.key });
    expect(mine.json<Job>().status).toBe('awaiting_confirmation');
    const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`, { key: alice.key });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
  });
});

describe('Idempotency-Key', () => {
  it('gives back the same job for the same request, and refuses the key with other parameters', async () => {
    const [a, b, c] = [await customer(), await customer(), await customer()];
    const key = uniqueWord('idem');
    const first = await t.call('POST', '/v1/merges', {
      headers: { 'idempotency-key': key },
      body: { sourceCustomerId: a, targetCustomerId: b },
    });
    expect(first.statusCode, first.body).toBe(201);
    const again = await t.call('POST', '/v1/merges', {
      headers: { 'idempotency-key': key },
      body: { targetCustomerId: b, sourceCustomerId: a },
    });
    expect(again.json<{ job: Job }>().job.id).toBe(first.json<{ job: Job }>().job.id);

    const reused = await t.call('POST', '/v1/merges', {
      headers: { 'idempotency-key': key },
      body: { sourceCustomerId: a, targetCustomerId: c },
    });
    expect(problemOf(reused)).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    const jobs = await t.call('GET', '/v1/jobs?type=merge&limit=100');
    const touchingC = jobs
      .json<{ items: Job[] }>()
      .items.filter((j) => JSON.stringify(j.params).includes(c));
    expect(touchingC).toEqual([]);
  });
});

describe('a job whose workflow has closed under it', () => {
  let quick: TestApp;
  beforeAll(async () => {
    // The cancel waits this long for the row to settle, which it never will here.
    ({ t: quick } = await startJobTestApp(testConfig({ JOB_REPLY_WAIT: '1s' })));
  });
  afterAll(() => quick.close());

  it('answers a cancel from the job row instead of failing on the closed workflow', async () => {
    const [source, target] = [await customer(), await customer()];
    const started = await quick.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source, targetCustomerId: target },
    });
    expect(started.statusCode, started.body).toBe(201);
    const job = started.json<{ job: Job }>().job;
    // What an admin's "terminate" in Temporal UI does, or a cancel that loses the race to the job's end.
    await quick.temporal.workflow.getHandle(job.workflowId).terminate('test: closed under the API');

    const cancel = await quick.call('POST', `/v1/merges/${job.id}/cancel`);
    expect(cancel.statusCode, cancel.body).toBeLessThan(500);
    expect([200, 202, 409]).toContain(cancel.statusCode);
  });
});
