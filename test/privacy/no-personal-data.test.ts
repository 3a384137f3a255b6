/**
 * No personal data leaves Postgres on a failure path. People carrying marker
 * strings (in their name, email, phone, messages and KObjects) go through
 * every operation that handles personal data — merge, split, move KObjects,
 * single delete, GDPR request completion, bulk erasure and the notice it
 * sends — and inside each operation's transaction Postgres fails once with a
 * serialization failure (40001) whose message and detail quote those markers,
 * as a driver error quotes a statement's parameters. Temporal retries each,
 * each completes; then every workflow history the test produced, the API's
 * log and the worker's log hold none of the markers.
 */
import { DefaultLogger } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../db/queries/api-keys';
import { createUser } from '../../db/queries/users';
import { installWorkerLogging } from '../../worker';
import { eventually, startTestApp, testConfig, uniqueWord, type TestApp } from '../helpers';
import { jobWhenFinished } from '../job-helpers';
import { startBulkErasure } from './bulk-erasure';

const apiLines: string[] = [];
const apiLog = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    apiLines.push(chunk.toString('utf8'));
    callback();
  },
});
/** Every line the worker's Temporal Runtime logs, as the default logger would print it. */
const workerLines: string[] = [];
const workerSink = new DefaultLogger('TRACE', ({ level, message, meta }) => {
  workerLines.push(`${level} ${message} ${inspect(meta, { depth: 20, breakLength: Infinity })}`);
});

let t: TestApp;
let operator: { id: string; key: string };
let klass: string;
/** Every marker string some person of this test carries. */
const markers: string[] = [];

beforeAll(async () => {
  // Before anything starts a Runtime: the worker's log lines come here.
  expect(installWorkerLogging(workerSink)).toBe(true);
  t = await startTestApp({
    worker: true,
    config: testConfig({ LOG_LEVEL: 'debug', BULK_SELECTION_LIMIT: '50' }),
    logStream: apiLog,
  });
  await installFaults();
  const word = uniqueWord('zqop');
  const user = await createUser(t.db, {
    name: `Operator ${word}`,
    email: `${word}.mail@example.org`,
    isAdmin: true,
  });
  operator = { id: user.id, key: (await issueApiKey(t.db, user.id, 'privacy')).key };
  markers.push(word);
  klass = uniqueWord('k');
  await call('POST', '/v1/klasses', { name: klass, title: 'Order' });
});

afterAll(async () => {
  await t?.db.execute(sql`
    drop trigger if exists privacy_fault on customers;
    drop trigger if exists privacy_fault on conversations;
    drop trigger if exists privacy_fault on kobjects;
    drop trigger if exists privacy_fault on gdpr_requests;
    drop trigger if exists privacy_fault on notifications`);
  await t?.close();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) {
  const response = await t.call(method, url, {
    key: operator.key,
    ...(body === undefined ? {} : { body }),
  });
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return response.json<Record<string, unknown>>();
}

/**
 * A trigger that fails one write, once: a row of `privacy_faults` names the
 * table, the operation and what the row must contain; its sequence, which a
 * rollback does not undo, lets only the first matching write fail, so the
 * retry succeeds. The error quotes the person's data in its message and
 * detail, as drivers and constraint errors do.
 */
async function installFaults() {
  await t.db.execute(sql`
    create table if not exists privacy_faults (
      id serial primary key,
      table_name text not null,
      operation text not null,
      match jsonb not null,
      quote text not null,
      fired_seq text not null
    )`);
  await t.db.execute(
    sql.raw(`
    create or replace function privacy_fault() returns trigger language plpgsql as $$
    declare
      fault record;
      subject jsonb;
    begin
      if tg_op = 'DELETE' then subject := to_jsonb(old); else subject := to_jsonb(new); end if;
      for fault in select * from privacy_faults where table_name = tg_table_name and operation = tg_op loop
        if subject @> fault.match then
          if nextval(fault.fired_seq::regclass) = 1 then
            raise exception using errcode = 'serialization_failure',
              message = 'could not serialize access due to concurrent update: ' || fault.quote,
              detail = 'Failing row contains ' || subject::text,
              hint = fault.quote;
          end if;
        end if;
      end loop;
      if tg_op = 'DELETE' then return old; end if;
      return new;
    end $$`),
  );
  for (const [table, events] of [
    ['customers', 'update or delete'],
    ['conversations', 'update'],
    ['kobjects', 'update'],
    ['gdpr_requests', 'update'],
    ['notifications', 'insert'],
  ]) {
    await t.db.execute(
      sql.raw(`create or replace trigger privacy_fault before ${events} on ${table}
               for each row execute function privacy_fault()`),
    );
  }
}

const armed: string[] = [];

/** Makes the first `operation` on a row of `table` containing `match` fail with `quote`. */
async function failOnce(
  table: string,
  operation: 'INSERT' | 'UPDATE' | 'DELETE',
  match: Record<string, string>,
  quote: string,
) {
  const sequence = `privacy_fault_${uniqueWord('')}`;
  await t.db.execute(sql.raw(`create sequence ${sequence}`));
  await t.db.execute(sql`
    insert into privacy_faults (table_name, operation, match, quote, fired_seq)
    values (${table}, ${operation}, ${JSON.stringify(match)}::jsonb, ${quote}, ${sequence})`);
  armed.push(sequence);
}

interface Person {
  id: string;
  conversationIds: string[];
  kobjectIds: string[];
  /** Everything of them a failing statement would quote. */
  quote: string;
}

/** A customer whose name, email, phone, messages and KObjects carry markers of their own. */
async function person(conversations = 1, kobjects = 0): Promise<Person> {
  const [name, mail, body] = ['zqname', 'zqmail', 'zqbody'].map((prefix) => uniqueWord(prefix));
  const [a, b] = [randomInt(100, 1000), randomInt(1000, 10000)];
  const phone = `+44 20 7${a} ${b}`;
  markers.push(name!, mail!, body!, phone, `+44207${a}${b}`, `44207${a}${b}`);
  const customer = await call('POST', '/v1/customers', {
    name: `Ann ${name}`,
    emails: [{ address: `${mail}@example.org` }],
    phones: [{ number: phone }],
  });
  const id = customer.id as string;
  const conversationIds: string[] = [];
  for (let i = 0; i < conversations; i++) {
    const conversation = await call('POST', `/v1/customers/${id}/conversations`, {
      channel: 'email',
      subject: `About ${body}`,
      messages: [{ direction: 'inbound', body: `Hello, ${body} here` }],
    });
    conversationIds.push(conversation.id as string);
  }
  const kobjectIds: string[] = [];
  for (let i = 0; i < kobjects; i++) {
    const kobject = await call('POST', `/v1/customers/${id}/kobjects`, {
      klass,
      title: `Order for ${body}`,
      data: { note: body },
    });
    kobjectIds.push(kobject.id as string);
  }
  return {
    id,
    conversationIds,
    kobjectIds,
    quote: `Ann ${name}, ${mail}@example.org, ${phone}, Hello, ${body} here`,
  };
}

async function ownerOf(table: 'conversations' | 'kobjects', id: string) {
  const result = await t.db.execute<{ customer_id: string }>(
    sql`select customer_id from ${sql.identifier(table)} where id = ${id}`,
  );
  return result.rows[0]?.customer_id;
}

async function customerExists(id: string) {
  return (await t.db.execute(sql`select 1 from customers where id = ${id}`)).rows.length > 0;
}

/** Previews a merge, split or move and confirms it; returns its finished job. */
async function confirmed(path: string, body: Record<string, unknown>) {
  const { job } = (await call('POST', `/v1/${path}`, body)) as { job: { id: string } };
  await call('POST', `/v1/${path}/${job.id}/confirm`);
  return jobWhenFinished(t, job.id, 60_000);
}

/** A workflow's history as text with every payload decoded, whichever run it is. */
async function historyText(workflowId: string, runId?: string): Promise<string> {
  const history = await t.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  return JSON.stringify(history).replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) =>
    Buffer.from(b64, 'base64').toString('utf8'),
  );
}

/** The markers `text` holds, with a little context each. */
const markersIn = (text: string) =>
  markers.flatMap((marker) => {
    const at = text.indexOf(marker);
    return at < 0 ? [] : [`${marker} in …${text.slice(Math.max(0, at - 120), at + 60)}…`];
  });

describe('a transient failure inside each operation on personal data', () => {
  it('is retried to completion, and no history or log line holds any of the data', async () => {
    const workflowIds = new Set<string>();

    const mergeSource = await person(1);
    const mergeTarget = await person(1);
    const { job: mergePreview } = (await call('POST', '/v1/merges', {
      sourceCustomerId: mergeSource.id,
      targetCustomerId: mergeTarget.id,
    })) as { job: { id: string } };
    await failOnce('customers', 'UPDATE', { id: mergeTarget.id }, mergeSource.quote);
    await call('POST', `/v1/merges/${mergePreview.id}/confirm`);
    const merge = await jobWhenFinished(t, mergePreview.id, 60_000);
    expect(merge.status).toBe('completed');
    expect(await customerExists(mergeSource.id)).toBe(false);
    expect(await ownerOf('conversations', mergeSource.conversationIds[0]!)).toBe(mergeTarget.id);
    workflowIds.add(merge.workflowId);

    const splitSource = await person(2);
    const splitTarget = await person(0);
    const moved = splitSource.conversationIds[0]!;
    await failOnce('conversations', 'UPDATE', { id: moved }, splitSource.quote);
    const split = await confirmed('splits', {
      sourceCustomerId: splitSource.id,
      targetCustomerId: splitTarget.id,
      conversationIds: [moved],
    });
    expect(split.status).toBe('completed');
    expect(await ownerOf('conversations', moved)).toBe(splitTarget.id);
    expect(await ownerOf('conversations', splitSource.conversationIds[1]!)).toBe(splitSource.id);
    workflowIds.add(split.workflowId);

    const moveSource = await person(0, 1);
    const moveTarget = await person(0);
    const kobject = moveSource.kobjectIds[0]!;
    await failOnce('kobjects', 'UPDATE', { id: kobject }, moveSource.quote);
    const move = await confirmed('kobject-moves', {
      kobjectIds: [kobject],
      targetCustomerId: moveTarget.id,
    });
    expect(move.status).toBe('completed');
    expect(await ownerOf('kobjects', kobject)).toBe(moveTarget.id);
    workflowIds.add(move.workflowId);

    const deleted = await person(1, 1);
    await failOnce('customers', 'DELETE', { id: deleted.id }, deleted.quote);
    const { job: deleteJob } = (await call('DELETE', `/v1/customers/${deleted.id}`, {
      confirm: 'DELETE',
    })) as { job: { id: string } };
    const deletion = await jobWhenFinished(t, deleteJob.id, 60_000);
    expect(deletion.status).toBe('completed');
    expect(await customerExists(deleted.id)).toBe(false);
    workflowIds.add(deletion.workflowId);

    const requester = await person(1);
    const request = (await call('POST', '/v1/gdpr-requests', {
      customerId: requester.id,
      receivedAt: new Date().toISOString(),
    })) as { id: string; workflowId: string };
    await failOnce(
      'gdpr_requests',
      'UPDATE',
      { id: request.id, status: 'completed' },
      requester.quote,
    );
    await call('POST', `/v1/gdpr-requests/${request.id}/erase`);
    const completed = await eventually(
      async () => {
        const row = (await call('GET', `/v1/gdpr-requests/${request.id}`)) as {
          status: string;
          erasureJobId?: string | null;
          job?: { workflowId: string } | null;
        };
        return row.status === 'completed' ? row : undefined;
      },
      60_000,
      `GDPR request ${request.id} to complete`,
    );
    expect(await customerExists(requester.id)).toBe(false);
    workflowIds.add(request.workflowId);
    if (completed.job?.workflowId) workflowIds.add(completed.job.workflowId);

    const erased = [await person(1), await person(0, 1), await person(1)];
    await failOnce('customers', 'DELETE', { id: erased[1]!.id }, erased[1]!.quote);
    // The notice that tells the operator the erasure is done fails once too.
    await failOnce('notifications', 'INSERT', { user_id: operator.id }, erased[0]!.quote);
    const bulkJobId = await startBulkErasure(
      t,
      { entity: 'customers', ids: erased.map((p) => p.id) },
      operator.key,
    );
    const bulk = await jobWhenFinished(t, bulkJobId, 60_000);
    expect(bulk.status).toBe('completed');
    for (const p of erased) expect(await customerExists(p.id)).toBe(false);
    workflowIds.add(bulk.workflowId);
    await eventually(
      async () => {
        const result = await t.db.execute(
          sql`select id from notifications where user_id = ${operator.id} and job_id = ${bulkJobId}`,
        );
        return result.rows.length > 0 ? true : undefined;
      },
      60_000,
      'the in-app notice of the bulk erasure',
    );

    // Every armed fault fired: each operation really failed once inside its transaction.
    for (const sequence of armed) {
      const fired = await t.db.execute<{ is_called: boolean }>(
        sql.raw(`select is_called from ${sequence}`),
      );
      expect(fired.rows[0]?.is_called, sequence).toBe(true);
    }

    // Every workflow of this test's task queue, once closed, with its whole history.
    const taskQueue = t.config.temporal.taskQueue;
    const runs = await eventually(
      async () => {
        const found: { workflowId: string; runId: string; status: string }[] = [];
        for await (const execution of t.temporal.workflow.list({
          query: `TaskQueue = "${taskQueue}"`,
        })) {
          found.push({
            workflowId: execution.workflowId,
            runId: execution.runId,
            status: execution.status.name,
          });
        }
        const listed = new Set(found.map((run) => run.workflowId));
        const complete = [...workflowIds].every((id) => listed.has(id));
        return complete && found.every((run) => run.status !== 'RUNNING') ? found : undefined;
      },
      60_000,
      'every workflow of the test to be listed and closed',
    );
    const histories = await Promise.all(runs.map((run) => historyText(run.workflowId, run.runId)));
    const allHistories = histories.join('\n');
    const workerLog = workerLines.join('\n');
    const apiText = apiLines.join('');
    expect.soft(markersIn(allHistories), 'markers in workflow histories').toEqual([]);
    expect.soft(markersIn(workerLog), 'markers in the worker log').toEqual([]);
    expect.soft(markersIn(apiText), 'markers in the API log').toEqual([]);
    // The failures are there, described by class and SQLSTATE, and the logs were captured.
    expect(allHistories).toContain('SQLSTATE 40001');
    expect(workerLog).toContain('Activity failed');
    expect(workerLog).toContain('40001');
    expect(apiText).toContain('request completed');
  }, 300_000);
});
