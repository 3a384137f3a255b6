/**
 * An access request whose clock is stopped, restarted and then extended
 * reminds and goes overdue on the moved dates, on Temporal's time-skipping
 * test server: the running workflow learns each move by signal, nothing fires
 * while the clock stands still (not even the original deadline passing), and
 * each fired timer ends exactly at its offset before the final deadline.
 */
import { tsToMs } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGdprRequest } from '../../db/queries/gdpr';
import { notifications } from '../../db/schema';
import { temporalTestServer } from '../../stack/binaries';
import { readyArchiveFixture } from '../exports';
import {
  eventually,
  startTestApp,
  testConfig,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';

const DAY = 86_400_000;
const noStickyCache = { maxCachedWorkflows: 0 };

let env: TestWorkflowEnvironment;
let t: TestApp;
let officerId: string;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServer() } },
  });
  t = await startTestApp({
    worker: true,
    config: testConfig({ TEMPORAL_ADDRESS: env.address }),
    workerOptions: noStickyCache,
  });
  officerId = (await userWithKey(t.db, { permissions: ['gdpr.manage'] })).id;
}, 120_000);
afterAll(async () => {
  await t?.close();
  await env?.teardown();
});

interface Request {
  id: string;
  customerId: string;
  type: string;
  regulation: string;
  dueAt: string;
  statutoryDueAt: string;
  latestDueAt: string;
  pausedDays: number;
  status: string;
  workflowId: string;
  clock: { kind: string; reason: string; dueAtBefore: string; dueAtAfter: string }[];
}

async function noticesOf(requestId: string): Promise<string[]> {
  const rows = await t.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.userId, officerId), eq(notifications.gdprRequestId, requestId)))
    .orderBy(notifications.createdAt);
  return rows.map((row) =>
    row.kind === 'gdpr_reminder' ? `reminder:${/Days left: (\d+)/.exec(row.body)?.[1]}` : row.kind,
  );
}

async function skipAndAwaitNotice(ms: number, requestId: string, count: number) {
  await env.sleep(ms);
  return eventually(
    async () => {
      const seen = await noticesOf(requestId);
      return seen.length >= count ? seen : undefined;
    },
    20_000,
    `notice ${count} of request ${requestId}`,
  );
}

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** When each fired timer was due: the instant its workflow task set it + its length. */
async function firedTimerEnds(workflowId: string): Promise<number[]> {
  const events = (await t.temporal.workflow.getHandle(workflowId).fetchHistory())
    .events as HistoryEvent[];
  const ends = new Map<string, number>();
  const fired: number[] = [];
  let taskStartedAt = 0;
  for (const event of events) {
    if (event.workflowTaskStartedEventAttributes) taskStartedAt = tsToMs(event.eventTime);
    const started = event.timerStartedEventAttributes;
    if (started) ends.set(started.timerId!, taskStartedAt + tsToMs(started.startToFireTimeout));
    const done = event.timerFiredEventAttributes;
    if (done) fired.push(ends.get(done.timerId!)!);
  }
  return fired;
}

/** Waits until the workflow has taken in every signal sent so far (no task left to run). */
async function settled(workflowId: string, signals: number) {
  await eventually(
    async () => {
      const events = (await t.temporal.workflow.getHandle(workflowId).fetchHistory())
        .events as HistoryEvent[];
      const count = (has: (e: HistoryEvent) => unknown) => events.filter(has).length;
      const received = count((e) => e.workflowExecutionSignaledEventAttributes);
      const scheduled = count((e) => e.workflowTaskScheduledEventAttributes);
      const completed = count((e) => e.workflowTaskCompletedEventAttributes);
      return received >= signals && scheduled === completed ? true : undefined;
    },
    20_000,
    `${signals} signals taken in by ${workflowId}`,
  );
}

describe('an access request whose clock is extended, paused and resumed', () => {
  it('reminds and marks overdue on the moved dates, and nothing fires while paused', async () => {
    const customer = await t.create('/v1/customers', { name: `Copy Me ${uniqueWord()}` });
    const created = await t.create<Request>('/v1/privacy-requests', {
      customerId: customer.id,
      type: 'access',
    });
    expect(created).toMatchObject({ type: 'access', regulation: 'gdpr', status: 'open' });
    const statutory = Date.parse(created.dueAt);
    expect(Date.parse(created.latestDueAt)).toBe(statutory + 60 * DAY);

    const paused = await t.call('POST', `/v1/privacy-requests/${created.id}/pause`, {
      body: { reason: 'awaiting_identity_verification' },
    });
    expect(paused.statusCode).toBe(200);
    await settled(created.workflowId, 1);

    // Past the 7-day reminder of the statutory deadline: the stopped clock fires nothing.
    await env.sleep(25 * DAY);
    const resumed = await t.call('POST', `/v1/privacy-requests/${created.id}/resume`, {
      body: {},
    });
    expect(resumed.statusCode).toBe(200);
    // A pause shorter than a day (API time) gives back one whole day.
    expect(resumed.json<Request>()).toMatchObject({
      pausedDays: 1,
      dueAt: new Date(statutory + DAY).toISOString(),
      latestDueAt: new Date(statutory + 61 * DAY).toISOString(),
    });
    await settled(created.workflowId, 2);
    expect(await noticesOf(created.id)).toEqual([]);

    const extendedTo = new Date(statutory + 21 * DAY).toISOString();
    const extended = await t.call('POST', `/v1/privacy-requests/${created.id}/extend`, {
      body: { reason: 'Complex: several systems to search', dueAt: extendedTo },
    });
    expect(extended.statusCode).toBe(200);
    await settled(created.workflowId, 3);
    expect(await noticesOf(created.id)).toEqual([]);
    expect((await findGdprRequest(t.db, created.id))!.status).toBe('open');

    // Workflow time is about statutory - 5 days; the deadline is statutory + 21 days.
    const dueAt = Date.parse(extendedTo);
    await skipAndAwaitNotice(19 * DAY + 60_000, created.id, 1);
    await skipAndAwaitNotice(6 * DAY, created.id, 2);
    await skipAndAwaitNotice(DAY, created.id, 3);
    expect(await noticesOf(created.id)).toEqual(['reminder:7', 'reminder:1', 'gdpr_overdue']);
    expect((await findGdprRequest(t.db, created.id))!.status).toBe('overdue');
    const fired = await firedTimerEnds(created.workflowId);
    expect(fired).toEqual([dueAt - 7 * DAY, dueAt - DAY, dueAt]);

    const detail = (await t.call('GET', `/v1/privacy-requests/${created.id}`)).json<Request>();
    expect(detail.clock.map((entry) => [entry.kind, entry.reason])).toEqual([
      ['pause', 'awaiting_identity_verification'],
      ['resume', 'awaiting_identity_verification'],
      ['extend', 'Complex: several systems to search'],
    ]);
    expect(detail.clock.map((entry) => entry.dueAtAfter)).toEqual([
      created.dueAt,
      new Date(statutory + DAY).toISOString(),
      extendedTo,
    ]);

    // Delivery needs a ready export; a real one's expiry would be long past in workflow time.
    await readyArchiveFixture(t.db, created, t.adminId);
    const delivered = await t.call('POST', `/v1/privacy-requests/${created.id}/deliver`, {
      body: { method: 'portal' },
    });
    expect(delivered.statusCode).toBe(200);
    expect(await t.temporal.workflow.getHandle(created.workflowId).result()).toEqual({
      status: 'completed',
      onTime: false,
    });
  }, 180_000);
});
