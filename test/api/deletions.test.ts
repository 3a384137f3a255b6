import { and, eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, customers, jobs, notifications } from '../../db/schema';
import { searchAttributes } from '../../workflows/contracts';
import {
  decodedHistory,
  defineAttributes,
  eventually,
  inboxOf,
  privateDay,
  problemOf,
  reportLanes,
  tablesHolding,
  testConfig,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import {
  customerWithItems,
  holdCustomerRow,
  jobWhenFinished,
  startBulkErasure,
  startJobTestApp,
  type BulkPreview,
  type Job,
} from '../job-helpers';
import { getUser } from '../../db/queries/users';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp(testConfig({ BULK_BATCH_SIZE: '4' })));
  await defineAttributes(t, 'customer', { plan: 'text' });
});
afterAll(() => t.close());

const confirm = { confirm: 'DELETE' };

/** Every row of every table in the public schema whose text holds `needle`, by table. */
const rowsHolding = (needle: string) => tablesHolding(t.db, needle);

async function searchHits(index: string, q: string): Promise<number> {
  const response = await t.call('GET', `/v1/search/${index}?q=${encodeURIComponent(q)}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ total: number }>().total;
}

const randomDay = () => privateDay(reportLanes.deletions);

describe('deleting one object', () => {
  it('erases a customer everywhere: rows, redirects, previews, saved searches, search and history', async () => {
    const word = uniqueWord('erase');
    const email = `${word}@mail.example`;
    const phone = `+44 20 7${Math.floor(100_0000 + Math.random() * 899_9999)}`;
    const day = randomDay();
    const customer = await customerWithItems(t, {
      name: `Ada ${word}`,
      klass,
      conversations: 2,
      kobjects: 2,
      extra: {
        emails: [{ address: email }],
        phones: [{ number: phone }],
        externalId: `ext-${word}`,
        customAttributes: { plan: `${word}-gold` },
      },
    });
    const dated = await t.create(`/v1/customers/${customer.id}/conversations`, {
      channel: 'chat',
      subject: `${word} dated`,
      createdAt: day.toISOString(),
      messages: [{ direction: 'outbound', body: `${word} body` }],
    });
    await t.call('PUT', `/v1/conversations/${customer.conversationIds[0]}/pin`);
    // Merged into it earlier: that old ID must stop leading anywhere.
    const older = await t.create('/v1/customers', { name: `Old ${word}` });
    const merged = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: older.id, targetCustomerId: customer.id },
    });
    expect(merged.statusCode, merged.body).toBe(201);
    const mergeJob = merged.json<{ job: Job }>().job;
    expect((await t.call('POST', `/v1/merges/${mergeJob.id}/confirm`)).statusCode).toBe(200);
    // A preview that shows its data, left waiting.
    const other = await t.create('/v1/customers', { name: `Other ${uniqueWord()}` });
    const waiting = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: customer.id, targetCustomerId: other.id },
    });
    expect(waiting.statusCode, waiting.body).toBe(201);
    const waitingJob = waiting.json<{ job: Job }>().job;
    expect(JSON.stringify(waitingJob.preview)).toContain(word);
    const saved = await t.create('/v1/saved-searches', {
      name: 'Find her',
      index: 'customers',
      q: email,
    });
    await eventually(async () => ((await searchHits('customers', word)) > 0 ? true : undefined));
    expect(await searchHits('conversations', word)).toBeGreaterThan(0);
    const reportUrl = `/v1/reports/conversations?from=${day.toISOString().slice(0, 10)}&to=${day.toISOString().slice(0, 10)}`;
    const reportBefore: unknown = (await t.call('GET', reportUrl)).json();

    const unconfirmed = await t.call('DELETE', `/v1/customers/${customer.id}`);
    expect(unconfirmed.statusCode).toBe(422);
    expect(problemOf(unconfirmed).code).toBe('CONFIRMATION_REQUIRED');
    const wrong = await t.call('DELETE', `/v1/customers/${customer.id}`, {
      body: { confirm: 'delete' },
    });
    expect(problemOf(wrong).code).toBe('CONFIRMATION_REQUIRED');
    expect((await t.call('GET', `/v1/customers/${customer.id}`)).statusCode).toBe(200);

    const response = await t.call('DELETE', `/v1/customers/${customer.id}`, { body: confirm });
    expect(response.statusCode, response.body).toBe(200);
    const job = response.json<{ job: Job }>().job;
    expect(job).toMatchObject({
      type: 'delete',
      status: 'completed',
      workflowId: `delete-${job.id}`,
    });
    expect(job.result?.counts).toMatchObject({
      customers: 1,
      conversations: 3,
      messages: 3,
      kobjects: 2,
      redirects: 1,
      jobRecords: 2,
      savedSearches: 1,
    });

    for (const url of [
      `/v1/customers/${customer.id}`,
      `/v1/customers/${older.id}`,
      `/v1/conversations/${dated.id}`,
      `/v1/conversations/${customer.conversationIds[0]}`,
      `/v1/kobjects/${customer.kobjectIds[0]}`,
      `/v1/saved-searches/${saved.id}`,
    ]) {
      expect((await t.call('GET', url)).statusCode, url).toBe(404);
    }
    for (const index of ['customers', 'conversations', 'kobjects']) {
      expect(await searchHits(index, word), index).toBe(0);
    }
    expect((await t.call('GET', reportUrl)).json()).toEqual(reportBefore);
    for (const needle of [word, email, phone])
      expect(await rowsHolding(needle), needle).toEqual({});
    for (const workflowId of [job.workflowId, mergeJob.workflowId, waitingJob.workflowId]) {
      const history = await decodedHistory(t.temporal, workflowId);
      expect(history).not.toContain(word);
      expect(history).not.toContain(phone);
    }

    const entries = await t.db.select().from(auditLog).where(eq(auditLog.jobId, job.id));
    expect(entries.map((e) => `${e.action} ${e.objectId}`).sort()).toEqual(
      [
        `customer.deleted ${customer.id}`,
        `conversation.deleted ${dated.id}`,
        ...customer.conversationIds.map((id) => `conversation.deleted ${id}`),
        ...customer.kobjectIds.map((id) => `kobject.deleted ${id}`),
        // The saved search that spelled out her email went with her, on the record.
        `saved_search.deleted ${saved.id}`,
      ].sort(),
    );
    expect(entries.every((e) => e.actorUserId === t.adminId)).toBe(true);
    const log = await t.call('GET', `/v1/audit-log?jobId=${job.id}&objectType=customer`);
    expect(log.json()).toMatchObject({
      items: [{ action: 'customer.deleted', objectId: customer.id, jobId: job.id }],
    });

    const again = await t.call('DELETE', `/v1/customers/${customer.id}`, { body: confirm });
    expect(problemOf(again)).toMatchObject({ status: 404, code: 'CUSTOMER_NOT_FOUND' });
  });

  it('deletes a conversation with its messages and works out its owner last activity again', async () => {
    const word = uniqueWord();
    const gone = uniqueWord('gone');
    const owner = await t.create('/v1/customers', { name: `Owner ${word}` });
    const older = await t.create(`/v1/customers/${owner.id}/conversations`, {
      channel: 'email',
      subject: `${word} older`,
      createdAt: '2020-01-01T00:00:00.000Z',
    });
    const newer = await t.create(`/v1/customers/${owner.id}/conversations`, {
      channel: 'email',
      subject: `${gone} newer`,
      messages: [{ direction: 'inbound', body: `${gone} hello` }],
    });
    const before = (await t.call('GET', `/v1/customers/${owner.id}`)).json<{
      lastActivityAt: string;
    }>();

    const response = await t.call('DELETE', `/v1/conversations/${newer.id}`, { body: confirm });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<{ job: Job }>().job.result?.counts).toMatchObject({
      conversations: 1,
      messages: 1,
    });
    expect((await t.call('GET', `/v1/conversations/${newer.id}`)).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/conversations/${older.id}`)).statusCode).toBe(200);
    const after = (await t.call('GET', `/v1/customers/${owner.id}`)).json<{
      lastActivityAt: string;
    }>();
    expect(new Date(after.lastActivityAt).getTime()).toBeLessThan(
      new Date(before.lastActivityAt).getTime(),
    );
    expect(await searchHits('conversations', gone)).toBe(0);
    expect(await searchHits('conversations', word)).toBe(1);
    expect(await rowsHolding(gone)).toEqual({});
  });

  it('needs the delete permission of the type deleted, and answers 404 for what does not exist', async () => {
    const customer = await t.create('/v1/customers', { name: `Kept ${uniqueWord()}` });
    const reader = await userWithKey(t.db, {
      permissions: ['customers.read', 'customers.write', 'conversations.delete', 'kobjects.delete'],
    });
    const refused = await t.call('DELETE', `/v1/customers/${customer.id}`, {
      key: reader.key,
      body: confirm,
    });
    expect(problemOf(refused)).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      permission: 'customers.delete',
    });
    const unknown = await t.call('DELETE', `/v1/kobjects/${randomUUID()}`, { body: confirm });
    expect(problemOf(unknown)).toMatchObject({ status: 404, code: 'KOBJECT_NOT_FOUND' });
    expect((await t.call('GET', `/v1/customers/${customer.id}`)).statusCode).toBe(200);
  });

  it('lets exactly one of a merge and a deletion of the same customer win', async () => {
    const source = await customerWithItems(t, { name: `Race ${uniqueWord()}`, conversations: 2 });
    const target = await t.create('/v1/customers', { name: `Target ${uniqueWord()}` });
    const previewed = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source.id, targetCustomerId: target.id },
    });
    const mergeJob = previewed.json<{ job: Job }>().job;
    const [merge, deletion] = await Promise.all([
      t.call('POST', `/v1/merges/${mergeJob.id}/confirm`),
      t.call('DELETE', `/v1/customers/${source.id}`, { body: confirm }),
    ]);
    const statuses = [merge.statusCode, deletion.statusCode].sort();
    expect(statuses, `${merge.body} ${deletion.body}`).toEqual([200, 409]);
    const conversationsOfTarget = await t.call('GET', `/v1/customers/${target.id}/timeline`);
    const items = conversationsOfTarget.json<{ items: unknown[] }>().items;
    // Merge won: the conversations moved; deletion won: they are gone with the source.
    expect(items.length).toBe(merge.statusCode === 200 ? 2 : 0);
    const loser = merge.statusCode === 409 ? merge : deletion;
    expect(['PREVIEW_STALE', 'CUSTOMER_MERGED']).toContain(problemOf(loser).code);
  });
});

describe('bulk erasure', () => {
  it('erases explicit IDs in the background once confirmed, leaves out what does not exist, and tells its starter', async () => {
    const user = await userWithKey(t.db, {
      permissions: ['searches.read', 'searches.bulkDelete', 'customers.read', 'customers.delete'],
    });
    const { email } = await getUser(t.db, user.id);
    const word = uniqueWord('bulk');
    const selected = [];
    for (let i = 0; i < 6; i++)
      selected.push((await customerWithItems(t, { name: `${word} ${i}`, conversations: 1 })).id);
    const bystander = await t.create('/v1/customers', { name: `${word} bystander` });
    const gone = randomUUID();

    const body = { entity: 'customers', ids: [...selected, gone] };
    const { preview, job: started } = await startBulkErasure(t, body, {
      key: user.key,
      headers: { 'idempotency-key': word },
    });
    expect(preview.selection).toMatchObject({ count: 6, notFound: 1, savedSearch: null });
    expect(started.workflowId).toBe(`bulk-delete-${started.id}`);
    const job = await jobWhenFinished(t, started.id);
    expect(job).toMatchObject({ status: 'completed', progress: { total: 6, done: 6, failed: 0 } });
    expect(job.result?.counts).toMatchObject({ customers: 6, conversations: 6 });
    for (const id of selected)
      expect((await t.call('GET', `/v1/customers/${id}`)).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/customers/${bystander.id}`)).statusCode).toBe(200);
    const items = await t.call('GET', `/v1/jobs/${job.id}/items?status=done&limit=100`, {
      key: user.key,
    });
    expect(items.json<{ items: { objectId: string }[] }>().items.map((i) => i.objectId)).toEqual(
      selected,
    );

    const again = await t.call('POST', '/v1/bulk-deletes', {
      key: user.key,
      headers: { 'idempotency-key': word },
      body,
    });
    expect(again.json<{ job: Job }>().job.id).toBe(job.id);

    const mail = await eventually(
      async () => (await inboxOf(email)).find((m) => m.subject.includes('completed')),
      15_000,
      'the completion email',
    );
    expect(mail.text).toContain(job.id);
    expect(mail.text).not.toContain(word);
    const inApp = await t.db.select().from(notifications).where(eq(notifications.userId, user.id));
    expect(inApp.map((n) => n.jobId)).toContain(job.id);

    const handle = t.temporal.workflow.getHandle(job.workflowId);
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(searchAttributes.jobType)).toBe('bulk_delete');
    expect(attributes.get(searchAttributes.jobStatus)).toBe('completed');
    expect(attributes.get(searchAttributes.itemsDone)).toBe(6);
  });

  it('previews the frozen selection and erases nothing until confirmed with "DELETE" and the previewed count', async () => {
    const word = uniqueWord('preview');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await t.create('/v1/customers', { name: `${word} ${i}` })).id);
    const starter = await userWithKey(t.db, {
      permissions: ['searches.read', 'searches.bulkDelete', 'customers.read', 'customers.delete'],
    });
    const other = await userWithKey(t.db, {
      permissions: ['searches.read', 'searches.bulkDelete', 'customers.read', 'customers.delete'],
    });

    const previewed = await t.call('POST', '/v1/bulk-deletes', {
      key: starter.key,
      body: { entity: 'customers', ids },
    });
    expect(previewed.statusCode, previewed.body).toBe(202);
    const { job, selection } = previewed.json<BulkPreview>();
    expect(job).toMatchObject({ status: 'awaiting_confirmation', progress: { total: 3 } });
    expect(job.expiresAt).not.toBeNull();
    expect(selection).toEqual({
      count: 3,
      notFound: 0,
      firstPage: ids.map((id, i) => ({ id, displayName: `${word} ${i}` })),
      savedSearch: null,
    });
    const before = await t.call('GET', `/v1/jobs/${job.id}/items?limit=10`, { key: starter.key });
    expect(before.json<{ items: unknown[] }>().items).toEqual(
      ids.map((objectId, i) => ({
        objectId,
        status: 'pending',
        reason: null,
        displayName: `${word} ${i}`,
      })),
    );

    const confirmAs = (key: string, body: object) =>
      t.call('POST', `/v1/bulk-deletes/${job.id}/confirm`, { key, body });
    expect(problemOf(await confirmAs(starter.key, { confirm: 'DELETE', count: 2 }))).toMatchObject({
      status: 422,
      code: 'COUNT_MISMATCH',
    });
    expect(problemOf(await confirmAs(starter.key, { confirm: 'delete', count: 3 }))).toMatchObject({
      status: 422,
      code: 'CONFIRMATION_REQUIRED',
    });
    expect(problemOf(await confirmAs(starter.key, { count: 3 }))).toMatchObject({
      status: 422,
      code: 'CONFIRMATION_REQUIRED',
    });
    expect(problemOf(await confirmAs(other.key, { confirm: 'DELETE', count: 3 }))).toMatchObject({
      status: 404,
    });
    for (const id of ids) expect((await t.call('GET', `/v1/customers/${id}`)).statusCode).toBe(200);
    expect((await t.call('GET', `/v1/jobs/${job.id}`)).json<Job>().status).toBe(
      'awaiting_confirmation',
    );

    const confirmed = await confirmAs(starter.key, { confirm: 'DELETE', count: 3 });
    expect(confirmed.statusCode, confirmed.body).toBe(202);
    expect(confirmed.json<{ job: Job }>().job.status).toBe('running');
    const done = await jobWhenFinished(t, job.id);
    expect(done).toMatchObject({ status: 'completed', progress: { total: 3, done: 3, failed: 0 } });
    for (const id of ids) expect((await t.call('GET', `/v1/customers/${id}`)).statusCode).toBe(404);
    const after = await t.call('GET', `/v1/jobs/${job.id}/items?limit=10`, { key: starter.key });
    expect(after.json<{ items: unknown[] }>().items).toEqual(
      ids.map((objectId) => ({ objectId, status: 'done', reason: null, displayName: null })),
    );
    const confirmedEntry = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.jobId, job.id), eq(auditLog.action, 'bulk_delete.confirmed')));
    expect(confirmedEntry.map((e) => e.actorUserId)).toEqual([starter.id]);
    expect(problemOf(await confirmAs(starter.key, { confirm: 'DELETE', count: 3 }))).toMatchObject({
      status: 409,
      code: 'JOB_NOT_AWAITING_CONFIRMATION',
    });
  });

  it('goes on past an object another transaction holds, tries it again, and counts it failed with OBJECT_BUSY', async () => {
    const word = uniqueWord('busy');
    const free = await t.create('/v1/customers', { name: `${word} free` });
    const held = await t.create('/v1/customers', { name: `${word} held` });
    const holder = new pg.Client({ connectionString: t.config.databaseUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select id from customers where id = $1 for update', [held.id]);
      const { job: started } = await startBulkErasure(t, {
        entity: 'customers',
        ids: [free.id, held.id],
      });
      // Four more tries, two seconds apart, while the lock is held.
      const job = await jobWhenFinished(t, started.id, 40_000);
      expect(job).toMatchObject({
        status: 'completed',
        progress: { total: 2, done: 1, failed: 1 },
      });
      expect(job.result?.counts).toMatchObject({ customers: 1 });
      const failed = await t.call('GET', `/v1/jobs/${job.id}/items?status=failed`);
      expect(failed.json<{ items: unknown[] }>().items).toEqual([
        { objectId: held.id, status: 'failed', reason: 'OBJECT_BUSY', displayName: `${word} held` },
      ]);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
    expect((await t.call('GET', `/v1/customers/${free.id}`)).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/customers/${held.id}`)).statusCode).toBe(200);
  }, 60_000);

  it('erases every match of a saved search in batches', async () => {
    const word = uniqueWord('saved');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push((await t.create('/v1/customers', { name: `${word} ${i}` })).id);
    const saved = await t.create('/v1/saved-searches', {
      name: 'All',
      index: 'customers',
      q: word,
    });

    const mismatch = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'conversations', savedSearchId: saved.id },
    });
    expect(problemOf(mismatch)).toMatchObject({ status: 422, code: 'SAVED_SEARCH_INDEX_MISMATCH' });

    const { preview, job: started } = await startBulkErasure(t, {
      entity: 'customers',
      savedSearchId: saved.id,
    });
    expect(preview.selection).toMatchObject({
      count: 10,
      savedSearch: { id: saved.id, name: 'All', query: word, changedSincePreview: false },
    });
    const job = await jobWhenFinished(t, started.id);
    expect(job).toMatchObject({
      status: 'completed',
      progress: { total: 10, done: 10, failed: 0 },
    });
    expect(
      await t.db
        .select()
        .from(customers)
        .where(sql`${customers.name} like ${`${word}%`}`),
    ).toEqual([]);
    await eventually(async () => ((await searchHits('customers', word)) === 0 ? true : undefined));
  });

  it('makes a bulk erasure of more customers than one search attribute holds findable in Temporal by each of them', async () => {
    const word = uniqueWord('findable');
    const ids: string[] = [];
    for (let i = 0; i < 45; i++)
      ids.push((await t.create('/v1/customers', { name: `${word} ${i}` })).id);
    const saved = await t.create('/v1/saved-searches', {
      name: 'Many',
      index: 'customers',
      q: word,
    });
    const { job } = await startBulkErasure(t, { entity: 'customers', savedSearchId: saved.id });

    /** The job IDs Temporal's list finds for a customer, as Temporal UI's query box would. */
    const jobsFoundFor = async (customerId: string) => {
      const found: string[] = [];
      for await (const w of t.temporal.workflow.list({
        query: `CustodianCustomerIds = '${customerId}'`,
      })) {
        const jobId = w.typedSearchAttributes.get(searchAttributes.jobId);
        if (jobId) found.push(jobId);
      }
      return found;
    };
    // Findable while it awaits its confirmation: the first, a middle and the last customer.
    for (const customerId of [ids[0]!, ids[40]!, ids[44]!]) {
      await eventually(
        async () => ((await jobsFoundFor(customerId)).includes(job.id) ? true : undefined),
        10_000,
        `bulk job ${job.id} listed for customer ${customerId}`,
      );
    }
    const parts = [];
    for await (const w of t.temporal.workflow.list({
      query: `CustodianJobId = '${job.id}' AND WorkflowType = 'jobCustomersWorkflow'`,
    }))
      parts.push(w);
    expect(parts).toHaveLength(2);
    expect(parts.every((w) => w.status.name === 'COMPLETED')).toBe(true);
    const listed = parts.flatMap(
      (w) => w.typedSearchAttributes.get(searchAttributes.customerIds) ?? [],
    );
    expect(listed.sort()).toEqual([...ids].sort());
  });

  it('stops after the current batch when cancelled; what was not reached stays', async () => {
    const word = uniqueWord('cancel');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await t.create('/v1/customers', { name: `${word} ${i}` })).id);
    // The first customer is held by another transaction, so the job waits on it until cancelled.
    const held = await holdCustomerRow(t, ids[0]!);
    const { job: started } = await startBulkErasure(t, { entity: 'customers', ids });
    const jobId = started.id;
    await eventually(async () => {
      const [row] = await t.db.select().from(jobs).where(eq(jobs.id, jobId));
      return row?.status === 'running' ? true : undefined;
    });
    const cancelled = await t.call('POST', `/v1/bulk-deletes/${jobId}/cancel`);
    expect([200, 202]).toContain(cancelled.statusCode);
    const job = await jobWhenFinished(t, jobId);
    await held.release();
    expect(job.status).toBe('cancelled');
    expect((await t.call('GET', `/v1/customers/${ids[0]}`)).statusCode).toBe(200);
    const skipped = await t.call('GET', `/v1/jobs/${jobId}/items?status=skipped`);
    expect(
      skipped.json<{ items: { objectId: string }[] }>().items.map((i) => i.objectId),
    ).toContain(ids[0]);
    const finishedAgain = await t.call('POST', `/v1/bulk-deletes/${jobId}/cancel`);
    expect(problemOf(finishedAgain)).toMatchObject({ status: 409, code: 'JOB_FINISHED' });
  });

  it('cancels a preview awaiting confirmation: nothing erased, the selection skipped', async () => {
    const victim = await t.create('/v1/customers', { name: uniqueWord('kept') });
    const previewed = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', ids: [victim.id] },
    });
    const { job } = previewed.json<BulkPreview>();
    const cancelled = await t.call('POST', `/v1/bulk-deletes/${job.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json<{ job: Job }>().job.status).toBe('cancelled');
    expect((await t.call('GET', `/v1/customers/${victim.id}`)).statusCode).toBe(200);
    const confirmed = await t.call('POST', `/v1/bulk-deletes/${job.id}/confirm`, {
      body: { confirm: 'DELETE', count: 1 },
    });
    expect(problemOf(confirmed)).toMatchObject({
      status: 409,
      code: 'JOB_NOT_AWAITING_CONFIRMATION',
    });
    const items = await t.call('GET', `/v1/jobs/${job.id}/items`);
    expect(items.json<{ items: { status: string }[] }>().items.map((i) => i.status)).toEqual([
      'skipped',
    ]);
  });

  it('refuses oversized or empty selections, a wrong typed confirmation and callers without both permissions', async () => {
    const tooMany = Array.from({ length: 31 }, () => randomUUID());
    const large = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', ids: tooMany },
    });
    expect(problemOf(large)).toMatchObject({ status: 422, code: 'SELECTION_TOO_LARGE' });
    const nothing = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', ids: [randomUUID()] },
    });
    expect(problemOf(nothing)).toMatchObject({ status: 422, code: 'NOTHING_SELECTED' });
    const wrong = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', ids: [randomUUID()], confirm: 'yes' },
    });
    expect(problemOf(wrong)).toMatchObject({ status: 422, code: 'CONFIRMATION_REQUIRED' });
    const deleter = await userWithKey(t.db, {
      permissions: ['searches.bulkDelete', 'customers.read', 'customers.delete'],
    });
    const forbidden = await t.call('POST', '/v1/bulk-deletes', {
      key: deleter.key,
      body: { entity: 'customers', ids: [randomUUID()] },
    });
    expect(problemOf(forbidden)).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      permission: 'searches.read',
    });
  });
});

describe('the typed confirmation in the OpenAPI document', () => {
  it('is declared as the one value the deletion routes accept', async () => {
    const spec = (await t.call('GET', '/openapi.json', { key: null })).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<
                string,
                { schema: { properties: Record<string, { enum?: string[] }> } }
              >;
            };
          }
        >
      >;
    }>();
    const confirmOf = (path: string, method: string) =>
      spec.paths[path]?.[method]?.requestBody?.content['application/json']?.schema.properties
        .confirm?.enum;
    for (const path of ['/v1/customers/{id}', '/v1/conversations/{id}', '/v1/kobjects/{id}'])
      expect(confirmOf(path, 'delete'), path).toEqual(['DELETE']);
    expect(confirmOf('/v1/bulk-deletes/{jobId}/confirm', 'post')).toEqual(['DELETE']);
  });
});

describe('a bulk erasure left unconfirmed', () => {
  let quick: TestApp;
  beforeAll(async () => {
    ({ t: quick } = await startJobTestApp(testConfig({ MERGE_CONFIRM_TTL: '1s' })));
  });
  afterAll(() => quick.close());

  it('expires: nothing erased, and a late confirmation is refused', async () => {
    const victim = await quick.create('/v1/customers', { name: uniqueWord('late') });
    const previewed = await quick.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', ids: [victim.id] },
    });
    expect(previewed.statusCode, previewed.body).toBe(202);
    const job = await jobWhenFinished(quick, previewed.json<BulkPreview>().job.id);
    expect(job.status).toBe('expired');
    const late = await quick.call('POST', `/v1/bulk-deletes/${job.id}/confirm`, {
      body: { confirm: 'DELETE', count: 1 },
    });
    expect(problemOf(late)).toMatchObject({ status: 409, code: 'JOB_NOT_AWAITING_CONFIRMATION' });
    expect((await quick.call('GET', `/v1/customers/${victim.id}`)).statusCode).toBe(200);
  });
});
