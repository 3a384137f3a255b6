/**
 * What Temporal says about a job's workflow, for the reconciler and the API:
 * whether it is still alive, and the Schedule that runs the reconciler.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import {
  jobCustomersWorkflowId,
  MAX_SEARCHABLE_CUSTOMERS,
  reconcileSchedule,
  searchAttributes,
  type JobCustomersInput,
  type ReconcileJobsInput,
} from '../workflows/contracts';
import { Limit } from './limit';

/**
 * The stable code a job is settled with when its workflow ended this way
 * without settling it. Absent: the workflow is alive (a reset or
 * continue-as-new goes on in its latest run), or its state is unknown.
 */
const endCodes: Partial<Record<WorkflowExecutionStatusName, string>> = {
  TERMINATED: 'WORKFLOW_TERMINATED',
  TIMED_OUT: 'WORKFLOW_TIMED_OUT',
  FAILED: 'WORKFLOW_FAILED',
  CANCELLED: 'WORKFLOW_CANCELLED',
  // Every job workflow settles its job before it returns: one that did not
  // (code from before a step existed, or a bug) left the job to no one.
  COMPLETED: 'WORKFLOW_COMPLETED',
};

export const WORKFLOW_NOT_FOUND = 'WORKFLOW_NOT_FOUND';

/**
 * How a workflow ended, as the code its job is settled with, or undefined
 * while it is alive. Looks at the latest run of the workflow ID, so a
 * workflow reset from Temporal UI (which goes on in a new run) is alive.
 */
export async function workflowEndOf(
  client: Client,
  workflowId: string,
): Promise<string | undefined> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return endCodes[status.name];
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return WORKFLOW_NOT_FOUND;
    throw error;
  }
}

/** The final status a job takes when its workflow ended with `code`: a cancel was honoured, anything else failed it. */
export const settledStatusOf = (code: string) =>
  code === 'WORKFLOW_CANCELLED' ? ('cancelled' as const) : ('failed' as const);

export interface ReconcileScheduleOptions {
  taskQueue: string;
  intervalMs: number;
  /** Tests use a schedule (and a selection of jobs) of their own. */
  scheduleId?: string;
  input?: ReconcileJobsInput;
}

/**
 * Creates the Schedule that runs `reconcileJobsWorkflow` every `intervalMs`
 * (JOB_RECONCILE_INTERVAL), or brings an existing one to this interval and
 * task queue. Every worker calls it when it starts: the first creates it,
 * the others find it. Durable: the schedule lives in Temporal, not in a
 * worker's timer, and a run that overlaps the previous one is skipped.
 */
export async function ensureReconcileSchedule(
  client: Client,
  {
    taskQueue,
    intervalMs,
    scheduleId = reconcileSchedule.scheduleId,
    input = {},
  }: ReconcileScheduleOptions,
): Promise<void> {
  const action = {
    type: 'startWorkflow' as const,
    workflowType: reconcileSchedule.workflowType,
    workflowId: scheduleId,
    taskQueue,
    args: [input],
    // A run stuck without a worker must not keep every later run skipped.
    workflowRunTimeout: Math.max(10 * intervalMs, 10 * 60_000),
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: intervalMs }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: intervalMs },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    const handle = client.schedule.getHandle(scheduleId);
    const current = await handle.describe();
    const every = current.spec.intervals?.map((interval) => interval.every) ?? [];
    const same =
      every.length === 1 &&
      Math.round(every[0]! / 1000) === Math.round(intervalMs / 1000) &&
      current.action.taskQueue === taskQueue;
    if (same) return;
    await handle.update((previous) => ({
      ...previous,
      spec: { intervals: [{ every: intervalMs }] },
      action,
    }));
  }
}

export interface ListedJob {
  id: string;
  type: string;
  workflowId: string;
  startedBy: string | null;
}

/** Parts started at once: enough to list 20,000 customers in seconds, few enough to leave the worker room. */
const PARTS_AT_ONCE = 8;

/**
 * Makes a job findable in Temporal UI by each of `customerIds`: one
 * `jobCustomersWorkflow` per 40 of them, with the job's ID and type. Safe to
 * call again: a part already started is left as it is. `onPart` is called
 * after each part (an activity heartbeats there). Returns how many parts.
 */
export async function listJobCustomers(
  client: Client,
  taskQueue: string,
  job: ListedJob,
  customerIds: string[],
  onPart: () => void = () => {},
): Promise<number> {
  const parts = Math.ceil(customerIds.length / MAX_SEARCHABLE_CUSTOMERS);
  const limit = new Limit(PARTS_AT_ONCE);
  await Promise.all(
    Array.from({ length: parts }, (_, part) =>
      limit.run(async () => {
        const ids = customerIds.slice(
          part * MAX_SEARCHABLE_CUSTOMERS,
          (part + 1) * MAX_SEARCHABLE_CUSTOMERS,
        );
        const input: JobCustomersInput = { jobId: job.id, part: part + 1, parts };
        try {
          await client.workflow.start('jobCustomersWorkflow', {
            taskQueue,
            workflowId: jobCustomersWorkflowId(job.workflowId, part + 1),
            args: [input],
            staticSummary:
              `Customers ${part * MAX_SEARCHABLE_CUSTOMERS + 1}–${part * MAX_SEARCHABLE_CUSTOMERS + ids.length} ` +
              `of ${customerIds.length} touched by ${job.type} job ${job.id} (workflow ${job.workflowId})`,
            typedSearchAttributes: [
              { key: searchAttributes.jobType, value: job.type },
              { key: searchAttributes.jobId, value: job.id },
              { key: searchAttributes.customerIds, value: ids },
              ...(job.startedBy ? [{ key: searchAttributes.startedBy, value: job.startedBy }] : []),
            ],
          });
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
        onPart();
      }),
    ),
  );
  return parts;
}
