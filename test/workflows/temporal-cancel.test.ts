/**
 * A cancellation requested in Temporal UI (or with `temporal workflow cancel`)
 * is a cancel like the API's: the job ends `cancelled` in Postgres, the
 * workflow shows Canceled, and nothing the job had not done yet is done.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customers, jobs } from '../../db/schema';
import { eventually, problemOf, uniqueWord, type TestApp } from '../helpers';
import {
  customerWithItems,
  holdCustomerRow,
  jobWhenFinished,
  startBulkErasure,
  startJobTestApp,
  type BulkPreview,
  type Job,
} from '../job-helpers';

let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
});
afterAll(() => t.close());

/** What Temporal UI's "Request Cancellation" does, and how the workflow then ended. */
async function cancelInTemporal(workflowId: string): Promise<string> {
  const handle = t.temporal.workflow.getHandle(workflowId);
  await handle.cancel();
  await handle.result().catch((error: unknown) => {
    if (!(error instanceof WorkflowFailedError)) throw error;
  });
  return (await handle.describe()).status.name;
}

describe('a cancellation requested in Temporal UI', () => {
  it('ends a merge, a split and a KObject move awaiting confirmation as cancelled', async () => {
    const source = await customerWithItems(t, {
      name: uniqueWord('src'),
      klass,
      conversations: 1,
      kobjects: 1,
    });
    const target = await customerWithItems(t, { name: uniqueWord('dst') });
    const starts = [
      { path: 'merges', body: { sourceCustomerId: source.id, targetCustomerId: target.id } },
      {
        path: 'splits',
        body: {
          sourceCustomerId: source.id,
          targetCustomerId: target.id,
          conversationIds: source.conversationIds,
        },
      },
      {
        path: 'kobject-moves',
        body: { kobjectIds: source.kobjectIds, targetCustomerId: target.id },
      },
    ];
    for (const { path, body } of starts) {
      const started = await t.call('POST', `/v1/${path}`, { body });
      expect(started.statusCode, started.body).toBe(201);
      const { job } = started.json<{ job: Job }>();
      expect(job.status).toBe('awaiting_confirmation');

      expect(await cancelInTemporal(job.workflowId), path).toBe('CANCELLED');
      const ended = await jobWhenFinished(t, job.id);
      expect(ended.status, path).toBe('cancelled');
      const late = await t.call('POST', `/v1/${path}/${job.id}/confirm`);
      expect(problemOf(late), path).toMatchObject({
        status: 409,
        code: 'JOB_NOT_AWAITING_CONFIRMATION',
      });
    }
    // Nothing moved: the source keeps its conversation and KObject.
    const timeline = await t.call('GET', `/v1/customers/${source.id}/timeline`);
    expect(
      timeline
        .json<{ items: { id: string }[] }>()
        .items.map((i) => i.id)
        .sort(),
    ).toEqual([...source.conversationIds, ...source.kobjectIds].sort());
  });

  it('ends a bulk erasure awaiting confirmation as cancelled, erasing nothing', async () => {
    const victim = await t.create('/v1/customers', { name: uniqueWord('kept') });
    const previewed = await t.call('POST', '/v1/bulk-deletes', {
      body: { entity: 'customers', ids: [victim.id] },
    });
    const { job } = previewed.json<BulkPreview>();
    expect(await cancelInTemporal(job.workflowId)).toBe('CANCELLED');
    expect((await jobWhenFinished(t, job.id)).status).toBe('cancelled');
    expect((await t.call('GET', `/v1/customers/${victim.id}`)).statusCode).toBe(200);
    const items = await t.call('GET', `/v1/jobs/${job.id}/items`);
    expect(items.json<{ items: { status: string }[] }>().items.map((i) => i.status)).toEqual([
      'skipped',
    ]);
  });

  it('stops a running bulk erasure after its batch: cancelled with its counts, the rest untouched', async () => {
    const word = uniqueWord('halt');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await t.create('/v1/customers', { name: `${word} ${i}` })).id);
    // The first customer is held, so the job keeps trying it and is still running when cancelled.
    const held = await holdCustomerRow(t, ids[0]!);
    try {
      const { job } = await startBulkErasure(t, { entity: 'customers', ids });
      await eventually(async () => {
        const [row] = await t.db.select().from(jobs).where(eq(jobs.id, job.id));
        return row && row.progressDone === 2 ? true : undefined;
      });
      expect(await cancelInTemporal(job.workflowId)).toBe('CANCELLED');
      const ended = await jobWhenFinished(t, job.id);
      expect(ended).toMatchObject({
        status: 'cancelled',
        progress: { total: 3, done: 2, failed: 0 },
      });
    } finally {
      await held.release();
    }
    const left = await t.db
      .select({ id: customers.id })
      .from(customers)
      .where(eq(customers.id, ids[0]!));
    expect(left).toEqual([{ id: ids[0] }]);
  });

  it('lets a single delete finish its one transaction and settle: completed, the object gone', async () => {
    const victim = await t.create('/v1/customers', { name: uniqueWord('held') });
    // The customer is held, so the deletion waits for it inside its transaction.
    const held = await holdCustomerRow(t, victim.id);
    const answer = t.call('DELETE', `/v1/customers/${victim.id}`, {
      body: { confirm: 'DELETE' },
    });
    try {
      const job = await eventually(async () => {
        const [row] = await t.db
          .select()
          .from(jobs)
          .where(sql`${jobs.params}->>'id' = ${victim.id}`);
        return row?.status === 'pending' || row?.status === 'running' ? row : undefined;
      });
      // The row is written a moment before its workflow starts.
      await eventually(() =>
        t.temporal.workflow
          .getHandle(job.workflowId)
          .cancel()
          .then(() => true),
      );
      await held.release();
      const response = await answer;
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json<{ job: Job }>().job.status).toBe('completed');
      const handle = t.temporal.workflow.getHandle(job.workflowId);
      await handle.result();
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    } finally {
      await held.release();
    }
    expect((await t.call('GET', `/v1/customers/${victim.id}`)).statusCode).toBe(404);
  });
});
