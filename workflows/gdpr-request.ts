import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  erasureEndedSignal,
  erasureStartedSignal,
  gdprRequestDeclinedSignal,
  gdprRequestStatusQuery,
  privacyClockChangedSignal,
  privacyRequestDeliveredSignal,
  searchAttributes,
  type GdprRequestOutcome,
  type GdprRequestState,
  type ErasureOutcome,
  type TrackGdprRequestInput,
} from './contracts';
import { notify } from './notify';
import { retries } from './retry-policies';
import { DAY_MS } from '../domain/gdpr';

// One guarded update each: the only transient fault is Postgres being away.
const { markGdprRequestOverdue, completeGdprRequest, checkErasureJob } =
  proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: retries.tracker,
  });

/**
 * Since this patch the request learns that an erasure job ended from the
 * erasureEnded signal (sent when the job settles, or when the reconciler
 * settles a job whose workflow was terminated) and looks at the rows then.
 * Histories recorded before it replay the polling activity they scheduled,
 * which gave up after 50 attempts of a day.
 */
const ERASURE_ENDED_SIGNAL_PATCH = 'gdpr-erasure-ended-signal';

/**
 * Since this patch the deadline can move: the privacyClockChanged signal
 * (extend, pause, resume) re-arms the reminder and overdue timers on the new
 * date, and none fires while the clock stands still; the
 * privacyRequestDelivered signal closes an access request. Histories recorded
 * before it keep the fixed deadline they were started with.
 */
const PRIVACY_CLOCK_PATCH = 'privacy-request-clock';

// Before the patch: follows a deletion job that may run for a long time, heartbeating.
const { awaitErasureJob } = proxyActivities<Activities>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '30 seconds',
  retry: retries.legacyErasureFollow,
});

/**
 * Tracks one GDPR erasure request until it is closed: reminders to the
 * compliance users before the deadline, the overdue mark and alert at it, and
 * completion when the linked erasure job finishes. Payloads carry IDs, dates
 * and statuses only; the notices read the rest from Postgres.
 */
export async function trackGdprRequestWorkflow(
  input: TrackGdprRequestInput,
): Promise<GdprRequestOutcome> {
  const { requestId } = input;
  const movableClock = patched(PRIVACY_CLOCK_PATCH);
  const dueAt = Date.parse(input.dueAt);
  const startedAt = Date.now();
  let state: GdprRequestState = 'open';
  const pendingErasures: string[] = [];
  const closed = () => state === 'completed' || state === 'declined';

  const enter = (next: GdprRequestState) => {
    state = next;
    upsertSearchAttributes([{ key: searchAttributes.gdprStatus, value: next }]);
  };

  setHandler(gdprRequestStatusQuery, () => state);
  setHandler(erasureStartedSignal, ({ jobId }) => {
    if (!closed() && !pendingErasures.includes(jobId)) pendingErasures.push(jobId);
  });
  setHandler(gdprRequestDeclinedSignal, () => {
    if (!closed()) enter('declined');
  });
  // Counted, not trusted: each one makes the request look at the rows again.
  let endings = 0;
  setHandler(erasureEndedSignal, () => {
    endings += 1;
  });

  /** The job's outcome for this request, looked at again each time a job concerning it ends. */
  const erasureOutcomeOf = async (jobId: string): Promise<ErasureOutcome | undefined> => {
    for (;;) {
      const seen = endings;
      const outcome = await checkErasureJob(jobId, requestId);
      if (outcome.status !== 'running') return outcome;
      await condition(() => closed() || endings !== seen);
      if (closed()) return undefined;
    }
  };

  /** Waits until `at` (workflow time); false if the request closed first. */
  const waitUntil = async (at: number) => {
    const ms = at - Date.now();
    if (ms > 0) await condition(closed, ms);
    return !closed();
  };

  const followErasures = async () => {
    while (!closed()) {
      await condition(() => closed() || pendingErasures.length > 0);
      const jobId = pendingErasures.shift();
      if (jobId === undefined) return;
      try {
        const outcome = patched(ERASURE_ENDED_SIGNAL_PATCH)
          ? await erasureOutcomeOf(jobId)
          : await awaitErasureJob(jobId, requestId);
        if (closed() || !outcome) return;
        if (outcome.status === 'completed') {
          const completedAt = new Date().toISOString();
          const completed = await completeGdprRequest(requestId, jobId, completedAt);
          if (completed.status === 'completed') {
            enter('completed');
            continue;
          }
        }
      } catch (error) {
        // Lost track of the job (or it was refused): the request stays open, people are told.
        if (!(error instanceof ActivityFailure)) throw error;
      }
      if (!closed()) {
        await notify({ kind: 'gdpr_erasure_failed', gdprRequestId: requestId, jobId });
      }
    }
  };
  const following = followErasures();

  if (movableClock) {
    const clock = { dueAt, paused: input.paused ?? false, version: 0, since: startedAt };
    let lastSeq = 0;
    setHandler(privacyClockChangedSignal, (change) => {
      if (change.seq <= lastSeq) return;
      lastSeq = change.seq;
      clock.dueAt = Date.parse(change.dueAt);
      clock.paused = change.paused;
      clock.version += 1;
      clock.since = Date.now();
      if (!closed()) {
        upsertSearchAttributes([{ key: searchAttributes.gdprDueAt, value: new Date(clock.dueAt) }]);
      }
    });
    setHandler(privacyRequestDeliveredSignal, () => {
      if (!closed()) enter('completed');
    });
    await followClock(requestId, input.reminderDays, clock, closed, () => enter('overdue'));
    await condition(closed);
    await following;
    await condition(allHandlersFinished);
    return { status: state as 'completed' | 'declined', onTime: Date.now() <= clock.dueAt };
  }

  for (const days of input.reminderDays) {
    const at = dueAt - days * DAY_MS;
    // A request recorded late skips the reminders whose time had already passed.
    if (at < startedAt) continue;
    if (!(await waitUntil(at))) break;
    await notify({ kind: 'gdpr_reminder', gdprRequestId: requestId, daysBefore: days });
  }
  if (await waitUntil(dueAt)) {
    const marked = await markGdprRequestOverdue(requestId);
    if (marked.status === 'overdue' && !closed()) {
      enter('overdue');
      // The alert's own delivery records keep a retried step from alerting twice.
      await notify({ kind: 'gdpr_overdue', gdprRequestId: requestId });
    }
  }

  await condition(closed);
  await following;
  await condition(allHandlersFinished);
  return { status: state as 'completed' | 'declined', onTime: Date.now() <= dueAt };
}

interface Clock {
  dueAt: number;
  paused: boolean;
  /** Bumped by each change, so a wait knows its date went stale. */
  version: number;
  /** When the current date was set: reminders whose time had passed by then are skipped. */
  since: number;
}

/**
 * Reminds before the clock's deadline and marks the request overdue at it,
 * starting over whenever the clock changes. A reminder fires once per
 * deadline (an extension re-arms the reminders still ahead of the new date);
 * a stopped clock fires nothing until it restarts.
 */
async function followClock(
  requestId: string,
  reminderDays: number[],
  clock: Clock,
  closed: () => boolean,
  markOverdue: () => void,
): Promise<void> {
  const sent = new Set<string>();
  for (;;) {
    if (closed()) return;
    const seen = clock.version;
    const unchanged = () => !closed() && clock.version === seen;
    /** Waits until `at` (workflow time); false if the request closed or the clock changed first. */
    const waitUntil = async (at: number) => {
      const ms = at - Date.now();
      if (ms > 0) await condition(() => !unchanged(), ms);
      return unchanged();
    };
    if (clock.paused) {
      await condition(() => !unchanged());
      continue;
    }
    const due = clock.dueAt;
    let moved = false;
    for (const days of reminderDays) {
      const at = due - days * DAY_MS;
      const key = `${days}@${due}`;
      if (at < clock.since || sent.has(key)) continue;
      if (!(await waitUntil(at))) {
        moved = true;
        break;
      }
      sent.add(key);
      await notify({ kind: 'gdpr_reminder', gdprRequestId: requestId, daysBefore: days });
    }
    if (moved || !(await waitUntil(due))) continue;
    const marked = await markGdprRequestOverdue(requestId, new Date(due).toISOString());
    if (marked.status === 'overdue' && !closed()) {
      markOverdue();
      await notify({ kind: 'gdpr_overdue', gdprRequestId: requestId });
      return;
    }
    // Not marked: the request closed, or its clock moved in Postgres first and the signal follows.
    await condition(() => !unchanged());
  }
}
