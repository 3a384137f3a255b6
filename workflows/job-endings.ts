/** How every job workflow ends: waiting for the index, settling its row, telling its starter, and a Failed workflow for a refusal. */
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JobInput, JobOutcome } from './contracts';
import { notify } from './notify';
import { retries } from './retry-policies';

// Recording a job's end must outlast a database outage: it is all that tells the caller.
export const { settleJob } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: retries.untilDone,
});

const { awaitSearchIndex } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: retries.indexWait,
});

/*
 * The same short steps as local activities: the worker that runs the workflow
 * task runs them at once and reports them with the task's completion, so a
 * chain of them costs no round trip through the server. What that costs: a
 * worker that dies in one is noticed when the workflow task times out (10 s),
 * and the step runs again on another worker — every step here is idempotent.
 */
export const { settleJob: settleJobLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: retries.untilDone,
});

const { awaitSearchIndex: awaitSearchIndexLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: retries.indexWait,
});

/**
 * Waits (a bounded time) until the search index shows what a job committed;
 * true when it does not yet. Postgres is the source of truth: the outbox
 * finishes a pending index update, the job does not wait for it.
 */
export async function awaitIndex(
  outboxUpTo: number,
  { local = false }: { local?: boolean } = {},
): Promise<boolean> {
  try {
    const { pending } = await (local ? awaitSearchIndexLocally : awaitSearchIndex)(outboxUpTo);
    return pending;
  } catch (error) {
    if (error instanceof ActivityFailure) return true;
    throw error;
  }
}

/**
 * Since this patch a job that failed while its request still waited is not
 * told again by notice: the request's 4xx was the answer.
 */
const NEWS_ONLY_PATCH = 'notify-only-news';

/** JOB_REPLY_WAIT's default, for histories recorded before the input carried it. */
const DEFAULT_REPLY_WAIT_MS = 5_000;

/**
 * Tells a job's starter how it ended, as their settings say: always for a
 * bulk job, and for any job that outlived the request that started (or
 * confirmed) it — an outcome the request answered itself is no news. A
 * notice that cannot be sent never fails the job.
 */
export async function notifyStarter(
  { jobId, replyWaitMs = DEFAULT_REPLY_WAIT_MS }: JobInput,
  status: 'completed' | 'failed' | 'cancelled',
  { always = false, since }: { always?: boolean; since?: number } = {},
): Promise<void> {
  const outlivedRequest = Date.now() - (since ?? workflowInfo().startTime.getTime()) > replyWaitMs;
  // Before this patch every failure was told, also one the request had already answered with its 4xx.
  const failureTold = status === 'failed' && !patched(NEWS_ONLY_PATCH);
  if (always || failureTold) {
    await notify({ kind: 'job_finished', jobId, status });
  } else if (outlivedRequest) {
    // The request may still have seen the outcome in time: the job row decides who tells it.
    await notify({ kind: 'job_finished', jobId, status, unlessReplied: true });
  }
}

/**
 * Since this patch a job that was refused or failed ends its workflow Failed,
 * with the refusal's code as the failure's type, so Temporal UI's list shows
 * it as not done (red) instead of Completed. Its job row was settled first:
 * the API, notices and the reconciler read that, never the workflow's result.
 */
const REFUSAL_FAILS_WORKFLOW_PATCH = 'refused-job-fails-workflow';

/** A job workflow's return: its outcome, or a Failed workflow for a refusal or failure. */
export function endOfJob(outcome: JobOutcome): JobOutcome {
  if (
    (outcome.status === 'rejected' || outcome.status === 'failed') &&
    patched(REFUSAL_FAILS_WORKFLOW_PATCH)
  ) {
    throw ApplicationFailure.create({
      type: outcome.code,
      message: `The job was ${outcome.status === 'rejected' ? 'refused' : 'stopped'}: ${outcome.code}. GET /v1/jobs/<CustodianJobId> says why.`,
      nonRetryable: true,
    });
  }
  return outcome;
}
