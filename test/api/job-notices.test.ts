/**
 * Notices only where they tell something: an outcome the request already
 * answered (its 2xx or its 4xx) is no news, and duplicate requests for one
 * object tell their starter at most once.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, notifications } from '../../db/schema';
import { problemOf, testConfig, uniqueWord, type TestApp } from '../helpers';
import { customerWithItems, jobWhenFinished, startJobTestApp, type Job } from '../job-helpers';

const REPLY_WAIT_MS = 1_000;

let t: TestApp;
beforeAll(async () => {
  ({ t } = await startJobTestApp(testConfig({ JOB_REPLY_WAIT: `${REPLY_WAIT_MS}ms` })));
});
afterAll(() => t.close());

/** How many notices a job's workflow asked for, read from its history. */
async function noticesAskedBy(workflowId: string): Promise<number> {
  const handle = t.temporal.workflow.getHandle(workflowId);
  // A refused job's workflow ends Failed: only that it has closed matters here.
  await handle.result().catch(() => undefined);
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'sendNotice',
  ).length;
}

describe('job notices', () => {
  it('sends none for a stale merge its confirm already refused with 409, however old the preview', async () => {
    const source = await customerWithItems(t, { name: uniqueWord('stale'), conversations: 1 });
    const target = await customerWithItems(t, { name: uniqueWord('stale'), conversations: 1 });
    const previewed = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source.id, targetCustomerId: target.id },
    });
    const { job } = previewed.json<{ job: Job }>();
    await t.create(`/v1/customers/${target.id}/conversations`, { channel: 'sms' });
    // The preview is older than the reply wait, as a preview a person reads first is.
    const startedAt = Date.parse(
      (await t.call('GET', `/v1/jobs/${job.id}`)).json<Job & { createdAt: string }>().createdAt,
    );
    await sleep(Math.max(0, startedAt + REPLY_WAIT_MS * 2 - Date.now()));

    const confirmed = await t.call('POST', `/v1/merges/${job.id}/confirm`);
    expect(problemOf(confirmed)).toMatchObject({ status: 409, code: 'PREVIEW_STALE' });
    expect(await noticesAskedBy(job.workflowId)).toBe(0);
    expect(await t.db.select().from(notifications).where(eq(notifications.jobId, job.id))).toEqual(
      [],
    );
  });

  it('sends none for ten DELETEs of one customer sent at once: each answered, one deletion on record', async () => {
    const victim = await customerWithItems(t, { name: uniqueWord('twice'), conversations: 1 });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.call('DELETE', `/v1/customers/${victim.id}`, { body: { confirm: 'DELETE' } }),
      ),
    );
    const codes = responses.map((r) => (r.statusCode < 300 ? r.statusCode : problemOf(r).code));
    expect(codes.filter((c) => c !== 200 && c !== 202 && c !== 'CUSTOMER_NOT_FOUND')).toEqual([]);
    const answered = responses
      .filter((r) => r.statusCode === 200 || r.statusCode === 202)
      .map((r) => ({ status: r.statusCode, job: r.json<{ job: Job }>().job }));
    const ended = await Promise.all(answered.map(({ job }) => jobWhenFinished(t, job.id)));
    // Another job deleting the object first is no failure: the object is gone, as asked.
    expect(ended.map((j) => j.status)).toEqual(answered.map(() => 'completed'));
    // Each workflow has closed, so every notice it asked for has been sent or skipped.
    for (const { job } of answered) await t.temporal.workflow.getHandle(job.workflowId).result();
    const inApp = await t.db
      .select()
      .from(notifications)
      .where(
        inArray(
          notifications.jobId,
          answered.map(({ job }) => job.id),
        ),
      );
    const told = inApp.flatMap((n) => (n.jobId ? [n.jobId] : []));
    // A 200 was the answer; a 202 leaves the outcome to tell.
    const repliedWith200 = answered.filter(({ status }) => status === 200).map(({ job }) => job.id);
    expect(told.filter((id) => repliedWith200.includes(id))).toEqual([]);
    // However many asked at once, the starter hears of the deletion at most once.
    expect(told.length).toBeLessThanOrEqual(1);
    const deleted = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectId, victim.id), eq(auditLog.action, 'customer.deleted')));
    expect(deleted).toHaveLength(1);
  });
});
