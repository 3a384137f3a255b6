/**
 * GDPR reminders fire exactly at their configured offsets before the
 * deadline, and the overdue mark exactly at it. Asserted on the workflow's
 * history: each timer's length is the time from the moment the workflow set
 * it (its workflow task's start, the workflow's `Date.now()`) to
 * `dueAt - days × 24 h`, and each fired timer is followed by the reminder for
 * those days (or the overdue mark). Runs on Temporal's time-skipping test
 * server with reminder days 9, 4 and 2 (not the defaults), for a request
 * recorded on the day and one recorded late, whose passed reminder is skipped.
 */
import { defaultPayloadConverter, tsToMs } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGdprRequest } from '../../db/queries/gdpr';
import { notifications } from '../../db/schema';
import { temporalTestServer } from '../../stack/binaries';
import {
  eventually,
  startTestApp,
  testConfig,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';

const DAY = 86_400_000;
const REMINDER_DAYS = [9, 4, 2];

// Without a sticky cache every workflow task replays from history: the test
// server does not stall its skipped clock on a stopped worker's sticky tasks.
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
    config: testConfig({
      TEMPORAL_ADDRESS: env.address,
      GDPR_REMINDER_DAYS: REMINDER_DAYS.join(','),
    }),
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
  dueAt: string;
  workflowId: string;
}

async function newRequest(receivedAt?: Date): Promise<Request> {
  const customer = await t.create('/v1/customers', { name: `Timer ${uniqueWord()}` });
  return t.create<Request>('/v1/gdpr-requests', {
    customerId: customer.id,
    ...(receivedAt ? { receivedAt: receivedAt.toISOString() } : {}),
  });
}

/** The officer's notices about the request, as `reminder:<days>` / `overdue`, in the order sent. */
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

/** Skips the server's clock by `ms`, then waits until the request has had `count` notices. */
async function skipAndAwaitNotice(ms: number, request: Request, count: number) {
  await env.sleep(ms);
  await eventually(
    async () => ((await noticesOf(request.id)).length >= count ? true : undefined),
    20_000,
    `notice ${count} of request ${request.id}`,
  );
}

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/**
 * The history as a reader checks it: the order of timers and activities (each
 * with its notice's kind and days), and each timer's length with the instant
 * its workflow task started, when the workflow read `Date.now()`.
 */
async function timelineOf(workflowId: string) {
  const events = (await t.temporal.workflow.getHandle(workflowId).fetchHistory()).events!;
  const steps: string[] = [];
  const timers: { setAt: number; length: number }[] = [];
  let taskStartedAt = 0;
  for (const event of events as HistoryEvent[]) {
    if (event.workflowTaskStartedEventAttributes) taskStartedAt = tsToMs(event.eventTime);
    const timer = event.timerStartedEventAttributes;
    if (timer) {
      timers.push({ setAt: taskStartedAt, length: tsToMs(timer.startToFireTimeout) });
      steps.push('timer');
    }
    const activity = event.activityTaskScheduledEventAttributes;
    if (activity) {
      const [argument] = activity.input?.payloads ?? [];
      const notice = argument
        ? defaultPayloadConverter.fromPayload<{ kind?: string; daysBefore?: number }>(argument)
        : undefined;
      const shown =
        notice?.kind === undefined
          ? ''
          : ` ${notice.kind}${notice.daysBefore === undefined ? '' : `:${notice.daysBefore}`}`;
      steps.push(`${activity.activityType!.name!}${shown}`);
    }
  }
  return { steps, timers };
}

const before = (request: Request, days: number) =>
  new Date(Date.parse(request.dueAt) - days * DAY).toISOString();

describe('GDPR reminder timers', () => {
  it('fire at dueAt minus each configured day and the overdue mark at dueAt, also for a request recorded late', async () => {
    const onTime = await newRequest();
    // Received 24 days ago: due in 6 days, so the 9-day reminder had passed.
    const late = await newRequest(new Date(Date.now() - 24 * DAY));

    // The late request's 4-day and 2-day reminders and its deadline come first.
    await skipAndAwaitNotice(2 * DAY + 60_000, late, 1);
    await skipAndAwaitNotice(2 * DAY, late, 2);
    await skipAndAwaitNotice(2 * DAY, late, 3);
    await skipAndAwaitNotice(15 * DAY, onTime, 1);
    await skipAndAwaitNotice(5 * DAY, onTime, 2);
    await skipAndAwaitNotice(2 * DAY, onTime, 3);
    await skipAndAwaitNotice(2 * DAY, onTime, 4);
    expect((await findGdprRequest(t.db, onTime.id))!.status).toBe('overdue');
    expect((await findGdprRequest(t.db, late.id))!.status).toBe('overdue');
    expect(await noticesOf(onTime.id)).toEqual([
      'reminder:9',
      'reminder:4',
      'reminder:2',
      'gdpr_overdue',
    ]);
    expect(await noticesOf(late.id)).toEqual(['reminder:4', 'reminder:2', 'gdpr_overdue']);

    for (const [request, days] of [
      [onTime, REMINDER_DAYS],
      [late, [4, 2]],
    ] as const) {
      const { steps, timers } = await timelineOf(request.workflowId);
      expect(steps).toEqual([
        ...days.flatMap((d) => ['timer', `sendNotice gdpr_reminder:${d}`]),
        'timer',
        'markGdprRequestOverdue',
        'sendNotice gdpr_overdue',
      ]);
      // Each timer runs from the instant it was set to exactly its offset before the deadline.
      expect(timers.map((timer) => timer.length)).toEqual(
        [...days.map((d) => before(request, d)), request.dueAt].map(
          (at, i) => Date.parse(at) - timers[i]!.setAt,
        ),
      );
    }
  }, 120_000);
});
