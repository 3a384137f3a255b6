/**
 * The API's way to have jobs whose workflow ended without settling them
 * (terminated in Temporal UI, timed out…) settled now rather than at the
 * reconciler's next scheduled run: the reconcile workflow for those jobs,
 * which settles them, tells their starters and frees the GDPR requests
 * following them. A job still alive is left alone by it.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { reconcileSchedule, type ReconcileJobsInput } from '../workflows/contracts';

export async function reconcileJobsNow(app: FastifyInstance, jobIds: Iterable<string>) {
  for (const jobId of jobIds) {
    const input: ReconcileJobsInput = { jobIds: [jobId] };
    try {
      await app.temporal.workflow.start(reconcileSchedule.workflowType, {
        taskQueue: app.config.temporal.taskQueue,
        workflowId: `reconcile-job-${jobId}`,
        args: [input],
        staticSummary: `Settle job ${jobId} if its workflow ended without settling it`,
      });
    } catch (error) {
      // Already being settled; the scheduled reconciler settles it otherwise.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}
