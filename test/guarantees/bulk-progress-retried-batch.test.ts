/**
 * Bulk erasure progress stays exact when a batch is retried. A deferred
 * trigger fails the commit of two batches once each — after every statement
 * of the batch ran (objects erased, audit written, items marked done,
 * progress moved) — so their transactions roll back and Temporal retries the
 * activity. The job must then report exactly its selection, each item done
 * once with what erasing it removed, and one audit entry per erased object.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, customers, jobItems } from '../../db/schema';
import { searchAttributes } from '../../workflows/contracts';
import { testConfig, uniqueWord, type TestApp } from '../helpers';
import {
  customerWithItems,
  jobWhenFinished,
  startBulkErasure,
  startJobTestApp,
} from '../job-helpers';

const BATCH = 4;

let t: TestApp;
beforeAll(async () => {
  ({ t } = await startJobTestApp(testConfig({ BULK_BATCH_SIZE: String(BATCH) })));
});
afterAll(() => t.close());

/**
 * Makes the commit of the transaction that marks `objectId` done fail once
 * with a serialization failure (a transient fault). The counter is a
 * sequence because sequences do not roll back with the failed transaction.
 */
async function failCommitOnceWhenDone(objectId: string, name: string) {
  await t.db.execute(sql.raw(`create sequence ${name}`));
  await t.db.execute(
    sql.raw(`
    create constraint trigger ${name} after update on job_items
    deferrable initially deferred for each row
    when (new.object_id = '${objectId}'::uuid and new.status = 'done')
    execute function ${name}_fail()`),
  );
  return {
    /** How often a transaction marking it done reached its commit. */
    commits: async () =>
      Number(
        (await t.db.execute<{ n: string }>(sql.raw(`select last_value as n from ${name}`))).rows[0]!
          .n,
      ),
    drop: async () => {
      await t.db.execute(sql.raw(`drop trigger if exists ${name} on job_items`));
      await t.db.execute(sql.raw(`drop sequence if exists ${name}`));
    },
  };
}

async function createFailingFunction(name: string) {
  await t.db.execute(
    sql.raw(`
    create function ${name}_fail() returns trigger language plpgsql as $$
    begin
      if nextval(tg_name::regclass) = 1 then
        raise exception 'forced commit failure' using errcode = '40001';
      end if;
      return null;
    end $$`),
  );
}

describe('a bulk erasure whose batch is retried', () => {
  it('reports exactly its selection, marks each item done once and audits each object once', async () => {
    const word = uniqueWord('retry');
    const selected = [];
    for (let i = 0; i < 9; i++) {
      selected.push(await customerWithItems(t, { name: `${word} ${i}`, conversations: 1 }));
    }
    const bystander = await customerWithItems(t, { name: `${word} kept`, conversations: 1 });
    const ids = selected.map((c) => c.id);
    const conversationIds = selected.flatMap((c) => c.conversationIds);

    // One fault in the first batch, one in the second.
    const faults = [];
    for (const [n, objectId] of [ids[0]!, ids[5]!].entries()) {
      const name = `guarantee_${word}_${n}`;
      await createFailingFunction(name);
      faults.push({ name, ...(await failCommitOnceWhenDone(objectId, name)) });
    }
    try {
      const { job: started } = await startBulkErasure(t, { entity: 'customers', ids });
      const job = await jobWhenFinished(t, started.id, 60_000);

      // Each faulted batch reached its commit twice: the failed attempt and the retry.
      for (const fault of faults) expect(await fault.commits(), fault.name).toBe(2);
      const history = (await t.temporal.workflow.getHandle(job.workflowId).fetchHistory()).events!;
      const retried = history
        .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(retried).toEqual([2, 2]);
      // Progress is exact at every step, not only at the end: what Temporal UI showed after
      // each batch (the items-done search attribute) is 4, 8, then 9 — never a retried batch twice.
      const shownDone = history.flatMap((e) => {
        const field =
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[
            searchAttributes.itemsDone.name
          ];
        return field ? [Number(defaultPayloadConverter.fromPayload(field))] : [];
      });
      expect(shownDone.filter((done, i) => done !== shownDone[i - 1])).toEqual([4, 8, 9]);

      expect(job).toMatchObject({
        status: 'completed',
        progress: { total: ids.length, done: ids.length, failed: 0 },
      });
      expect(job.result?.counts).toMatchObject({
        customers: ids.length,
        conversations: conversationIds.length,
        messages: conversationIds.length,
      });

      const items = await t.db
        .select({
          objectId: jobItems.objectId,
          status: jobItems.status,
          attempts: jobItems.attempts,
          counts: jobItems.counts,
        })
        .from(jobItems)
        .where(eq(jobItems.jobId, job.id));
      // What erasing each object removed, as its item records it: the customer, its one
      // conversation and that conversation's message — counted once, not once per attempt.
      const byObject = items
        .map(({ counts, ...item }) => ({
          ...item,
          erased: [counts?.customers, counts?.conversations, counts?.messages],
        }))
        .sort((a, b) => a.objectId.localeCompare(b.objectId));
      expect(byObject).toEqual(
        [...ids]
          .sort()
          .map((objectId) => ({ objectId, status: 'done', attempts: 0, erased: [1, 1, 1] })),
      );

      const audited = await t.db
        .select({ action: auditLog.action, objectId: auditLog.objectId })
        .from(auditLog)
        .where(eq(auditLog.jobId, job.id));
      // The job's own entries (its confirmation) aside: one entry per erased object.
      const erasures = audited.filter((e) => e.action.endsWith('.deleted'));
      expect(erasures.map((e) => `${e.action} ${e.objectId}`).sort()).toEqual(
        [
          ...ids.map((id) => `customer.deleted ${id}`),
          ...conversationIds.map((id) => `conversation.deleted ${id}`),
        ].sort(),
      );

      const left = await t.db
        .select({ id: customers.id })
        .from(customers)
        .where(inArray(customers.id, [...ids, bystander.id]));
      expect(left).toEqual([{ id: bystander.id }]);
      const bystanderAudit = await t.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.objectId, bystander.id), eq(auditLog.action, 'customer.deleted')));
      expect(bystanderAudit).toEqual([]);
    } finally {
      for (const fault of faults) await fault.drop();
    }
  }, 90_000);
});
