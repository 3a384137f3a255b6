import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, conversations, kobjects } from '../../db/schema';
import { searchAttributes } from '../../workflows/contracts';
import {
  eventually,
  problemOf,
  uniqueName,
  uniqueWord,
  type TestApp,
  decodedHistory,
  defineAttributes,
} from '../helpers';
import { descriptionWhen, startJobTestApp } from '../job-helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
  await defineAttributes(t, 'customer', { tier: 'text' });
});
afterAll(() => t.close());

interface Job {
  id: string;
  status: string;
  workflowId: string;
  preview: Record<string, unknown>;
  result: { counts: Record<string, number> } | null;
  error: { code: string } | null;
}

const post = <T = { id: string }>(url: string, body: unknown) => t.create<T>(url, body);

const conversation = (customerId: string, subject: string, at?: string) =>
  post(`/v1/customers/${customerId}/conversations`, {
    channel: 'chat',
    subject,
    messages: [{ direction: 'inbound', body: `${subject} body` }],
    ...(at ? { createdAt: at } : {}),
  });

const ownerOf = async (table: typeof conversations | typeof kobjects, id: string) =>
  (await t.db.select({ customerId: table.customerId }).from(table).where(eq(table.id, id)))[0]
    ?.customerId;

const timelineIds = async (customerId: string) =>
  (await t.call('GET', `/v1/customers/${customerId}/timeline?limit=100`))
    .json<{ items: { id: string }[] }>()
    .items.map((i) => i.id);

describe('splitting a timeline', () => {
  it('moves only the selected conversations with their messages; the source keeps its attributes and KObjects', async () => {
    const word = uniqueWord('split');
    const company = await post('/v1/companies', { name: uniqueName('Split Co') });
    const source = await post('/v1/customers', {
      name: `Source ${word}`,
      companyId: company.id,
      emails: [{ address: `source.${word}@example.com` }],
      phones: [{ number: '+44 20 7946 1111' }],
      customAttributes: { tier: 'gold' },
    });
    const target = await post('/v1/customers', { name: `Target ${word}`, companyId: company.id });
    const moving = await conversation(source.id, `${word} moving`, '2024-05-01T10:00:00Z');
    const staying = await conversation(source.id, `${word} staying`, '2024-01-01T10:00:00Z');
    const kobject = await post(`/v1/customers/${source.id}/kobjects`, {
      klass,
      title: 'Stays with the source',
    });

    const started = await t.call('POST', '/v1/splits', {
      body: {
        sourceCustomerId: source.id,
        targetCustomerId: target.id,
        conversationIds: [moving.id, moving.id],
      },
    });
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();
    expect(job.workflowId).toBe(`split-${job.id}`);
    expect(job.preview).toEqual({
      conversations: [
        { id: moving.id, subject: `${word} moving`, status: 'open', channel: 'chat' },
      ],
      counts: { conversations: 1 },
    });

    const confirmed = await t.call('POST', `/v1/splits/${job.id}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json<{ job: Job }>().job).toMatchObject({
      status: 'completed',
      result: { counts: { conversations: 1 } },
    });

    expect(await ownerOf(conversations, moving.id)).toBe(target.id);
    expect(await ownerOf(conversations, staying.id)).toBe(source.id);
    expect(await ownerOf(kobjects, kobject.id)).toBe(source.id);
    const thread = (await t.call('GET', `/v1/conversations/${moving.id}`)).json<{
      messages: { body: string }[];
    }>();
    expect(thread.messages.map((m) => m.body)).toEqual([`${word} moving body`]);

    const sourceAfter = (await t.call('GET', `/v1/customers/${source.id}`)).json<
      Record<string, unknown>
    >();
    expect(sourceAfter).toMatchObject({
      emails: [{ address: `source.${word}@example.com`, preferred: true }],
      phones: [{ number: '+44 20 7946 1111', preferred: true }],
      customAttributes: { tier: 'gold' },
    });
    const targetAfter = (await t.call('GET', `/v1/customers/${target.id}`)).json<
      Record<string, unknown>
    >();
    expect(targetAfter).toMatchObject({ emails: [], phones: [], customAttributes: {} });

    expect(await timelineIds(target.id)).toEqual([moving.id]);
    expect(await timelineIds(source.id)).toEqual([kobject.id, staying.id]);
    const cards = (await t.call('GET', `/v1/companies/${company.id}/timeline`)).json<{
      items: { customer: { id: string }; conversationCounts: { open: number } }[];
    }>().items;
    expect(cards.find((c) => c.customer.id === target.id)!.conversationCounts.open).toBe(1);
    expect(cards.find((c) => c.customer.id === source.id)!.conversationCounts.open).toBe(1);

    const hits = await t.call('GET', `/v1/search/conversations?q=${word}&customer=${target.id}`);
    expect(hits.json<{ hits: { id: string }[] }>().hits.map((h) => h.id)).toEqual([moving.id]);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.jobId, job.id));
    expect(audit.map((a) => [a.action, a.objectId])).toEqual([['conversation.moved', moving.id]]);

    const decoded = await decodedHistory(t.temporal, job.workflowId);
    for (const secret of [word, '7946 1111']) expect(decoded.toLowerCase()).not.toContain(secret);
    const description = await eventually(
      async () => {
        const d = await t.temporal.workflow.getHandle(job.workflowId).describe();
        return d.typedSearchAttributes.get(searchAttributes.jobStatus) === 'completed'
          ? d
          : undefined;
      },
      10_000,
      `search attribute jobStatus=completed on ${job.workflowId}`,
    );
    expect(description.typedSearchAttributes.get(searchAttributes.jobType)).toBe('split');
    expect(description.typedSearchAttributes.get(searchAttributes.customerIds)).toEqual([
      source.id,
      target.id,
    ]);
    expect(description.typedSearchAttributes.get(searchAttributes.startedBy)).toBe(t.adminId);
    expect(await description.staticSummary()).toBe(
      `Move 1 conversation(s) from customer ${source.id} to ${target.id}`,
    );
  });

  it('refuses anything that is not a conversation of the source, naming every offending ID', async () => {
    const source = await post('/v1/customers', { name: 'Split source' });
    const other = await post('/v1/customers', { name: 'Someone else' });
    const own = await conversation(source.id, 'own');
    const foreign = await conversation(other.id, 'foreign');
    const kobject = await post(`/v1/customers/${source.id}/kobjects`, {
      klass,
      title: 'Not a conversation',
    });
    const unknown = randomUUID();
    const response = await t.call('POST', '/v1/splits', {
      body: {
        sourceCustomerId: source.id,
        targetCustomerId: other.id,
        conversationIds: [own.id, foreign.id, kobject.id, unknown],
      },
    });
    expect(response.statusCode).toBe(422);
    const problem = problemOf(response);
    expect(problem.code).toBe('NOT_A_CONVERSATION_OF_SOURCE');
    expect((problem.ids as string[]).sort()).toEqual([foreign.id, kobject.id, unknown].sort());
    expect(await ownerOf(conversations, own.id)).toBe(source.id);
  });

  it.each([
    ['an empty selection', 'empty', 422, 'NO_CONVERSATIONS_SELECTED'],
    ['the same customer as target', 'same', 422, 'SAME_CUSTOMER'],
    ['an unknown target', 'unknown', 404, 'CUSTOMER_NOT_FOUND'],
  ])('refuses %s', async (_what, kind, status, code) => {
    const source = await post('/v1/customers', { name: 'Refused split' });
    const own = await conversation(source.id, 'x');
    const targetCustomerId =
      kind === 'same'
        ? source.id
        : kind === 'unknown'
          ? randomUUID()
          : (await post('/v1/customers', { name: 'T' })).id;
    const response = await t.call('POST', '/v1/splits', {
      body: {
        sourceCustomerId: source.id,
        targetCustomerId,
        conversationIds: kind === 'empty' ? [] : [own.id],
      },
    });
    expect(problemOf(response)).toMatchObject({ status, code });
  });

  it('refuses a stale preview with 409 and lets only one of two competing splits win', async () => {
    const source = await post('/v1/customers', { name: 'Contested' });
    const [b, c] = await Promise.all(['B', 'C'].map((name) => post('/v1/customers', { name })));
    const contested = await conversation(source.id, 'contested');
    const split = async (target: string) =>
      (
        await t.call('POST', '/v1/splits', {
          body: {
            sourceCustomerId: source.id,
            targetCustomerId: target,
            conversationIds: [contested.id],
          },
        })
      ).json<{ job: Job }>().job;
    const [toB, toC] = [await split(b!.id), await split(c!.id)];
    const responses = await Promise.all(
      [toB, toC].map((job) => t.call('POST', `/v1/splits/${job.id}/confirm`)),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(problemOf(responses.find((r) => r.statusCode === 409)!).code).toBe('PREVIEW_STALE');
    const owner = await ownerOf(conversations, contested.id);
    expect([b!.id, c!.id]).toContain(owner);
    const count = await t.db.select().from(conversations).where(eq(conversations.id, contested.id));
    expect(count).toHaveLength(1);
  });

  it('gives back the same job for the same Idempotency-Key, and cancels', async () => {
    const source = await post('/v1/customers', { name: 'Idem split' });
    const target = await post('/v1/customers', { name: 'Idem target' });
    const own = await conversation(source.id, 'idem');
    const headers = { 'idempotency-key': randomUUID() };
    const body = {
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      conversationIds: [own.id],
    };
    const first = (await t.call('POST', '/v1/splits', { body, headers })).json<{ job: Job }>().job;
    const second = (await t.call('POST', '/v1/splits', { body, headers })).json<{ job: Job }>().job;
    expect(second.id).toBe(first.id);
    const cancelled = await t.call('POST', `/v1/splits/${first.id}/cancel`);
    expect(cancelled.json<{ job: Job }>().job.status).toBe('cancelled');
    expect(await ownerOf(conversations, own.id)).toBe(source.id);
  });
});

describe('moving KObjects', () => {
  it('moves KObjects with their pins to the target timeline, and keeps personal data out of the history', async () => {
    const word = uniqueWord('move');
    const owner = await post('/v1/customers', {
      name: `Owner ${word}`,
      emails: [{ address: `owner.${word}@example.com` }],
    });
    const target = await post('/v1/customers', { name: `Receiver ${word}` });
    const pinned = await post(`/v1/customers/${owner.id}/kobjects`, {
      klass,
      title: `Pinned ${word}`,
    });
    const plain = await post(`/v1/customers/${owner.id}/kobjects`, {
      klass,
      title: `Plain ${word}`,
    });
    expect((await t.call('PUT', `/v1/kobjects/${pinned.id}/pin`)).statusCode).toBe(204);

    const started = await t.call('POST', '/v1/kobject-moves', {
      body: { kobjectIds: [pinned.id, plain.id], targetCustomerId: target.id },
    });
    expect(started.statusCode, started.body).toBe(201);
    const { job } = started.json<{ job: Job }>();
    expect(job.workflowId).toBe(`kobject-move-${job.id}`);
    expect(
      (job.preview.kobjects as { id: string; currentCustomerId: string; klass: string }[])
        .map((k) => [k.id, k.currentCustomerId, k.klass])
        .sort(),
    ).toEqual(
      [
        [pinned.id, owner.id, klass],
        [plain.id, owner.id, klass],
      ].sort(),
    );
    expect((await t.call('POST', `/v1/kobject-moves/${job.id}/confirm`)).statusCode).toBe(200);

    const items = (await t.call('GET', `/v1/customers/${target.id}/timeline`)).json<{
      items: { id: string; pinned: boolean }[];
    }>().items;
    expect(items.map((i) => [i.id, i.pinned])).toEqual([
      [pinned.id, true],
      [plain.id, false],
    ]);
    expect(await timelineIds(owner.id)).toEqual([]);
    const hits = await t.call('GET', `/v1/search/kobjects?q=${word}&customer=${target.id}`);
    expect(hits.json<{ hits: unknown[] }>().hits).toHaveLength(2);

    const decoded = await decodedHistory(t.temporal, job.workflowId);
    expect(decoded.toLowerCase()).not.toContain(word);
    const description = await descriptionWhen(t, job.workflowId, 'completed');
    expect(description.typedSearchAttributes.get(searchAttributes.jobType)).toBe('kobject_move');
    expect(description.typedSearchAttributes.get(searchAttributes.customerIds)).toEqual([
      target.id,
      owner.id,
    ]);
    expect(await description.staticSummary()).toBe(`Move 2 KObject(s) to customer ${target.id}`);
  });

  it('refuses IDs that are not KObjects (422 NOT_A_KOBJECT) and KObjects already on the target (422 ALREADY_ON_TARGET)', async () => {
    const owner = await post('/v1/customers', { name: 'Has things' });
    const target = await post('/v1/customers', { name: 'Gets things' });
    const thing = await post(`/v1/customers/${owner.id}/kobjects`, { klass, title: 'Thing' });
    const theirs = await post(`/v1/customers/${target.id}/kobjects`, {
      klass,
      title: 'Already theirs',
    });
    const chat = await conversation(owner.id, 'not a kobject');
    const notKObject = await t.call('POST', '/v1/kobject-moves', {
      body: { kobjectIds: [thing.id, chat.id], targetCustomerId: target.id },
    });
    expect(problemOf(notKObject)).toMatchObject({
      status: 422,
      code: 'NOT_A_KOBJECT',
      ids: [chat.id],
    });
    const already = await t.call('POST', '/v1/kobject-moves', {
      body: { kobjectIds: [thing.id, theirs.id], targetCustomerId: target.id },
    });
    expect(problemOf(already)).toMatchObject({
      status: 422,
      code: 'ALREADY_ON_TARGET',
      ids: [theirs.id],
    });
    expect(await ownerOf(kobjects, thing.id)).toBe(owner.id);
  });

  it('gives back the same job for the same Idempotency-Key', async () => {
    const owner = await post('/v1/customers', { name: 'Idem owner' });
    const target = await post('/v1/customers', { name: 'Idem receiver' });
    const thing = await post(`/v1/customers/${owner.id}/kobjects`, { klass, title: 'Idem' });
    const headers = { 'idempotency-key': randomUUID() };
    const body = { kobjectIds: [thing.id], targetCustomerId: target.id };
    const first = await t.call('POST', '/v1/kobject-moves', { body, headers });
    const second = await t.call('POST', '/v1/kobject-moves', { body, headers });
    expect(first.statusCode).toBe(201);
    expect(second.json<{ job: Job }>().job.id).toBe(first.json<{ job: Job }>().job.id);
    // Counted in Postgres by this test's KObject: the job list is shared with other test files.
    const started = await t.db.execute(
      sql`select id from jobs where type = 'kobject_move' and params->'kobjectIds' ? ${thing.id}`,
    );
    expect(started.rows).toHaveLength(1);
  });

  it('lets only one of two competing moves of the same KObject win', async () => {
    const owner = await post('/v1/customers', { name: 'Contested owner' });
    const [b, c] = await Promise.all(
      ['To B', 'To C'].map((name) => post('/v1/customers', { name })),
    );
    const thing = await post(`/v1/customers/${owner.id}/kobjects`, { klass, title: 'Contested' });
    const move = async (target: string) =>
      (
        await t.call('POST', '/v1/kobject-moves', {
          body: { kobjectIds: [thing.id], targetCustomerId: target },
        })
      ).json<{ job: Job }>().job;
    const jobs = [await move(b!.id), await move(c!.id)];
    const responses = await Promise.all(
      jobs.map((job) => t.call('POST', `/v1/kobject-moves/${job.id}/confirm`)),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect([b!.id, c!.id]).toContain(await ownerOf(kobjects, thing.id));
  });
});
