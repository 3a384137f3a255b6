/** Starting a customer export from the API: the one entry point every route that starts one calls. */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { JobRow } from '../db/queries/job-rows';
import { createExport, exportJobsOfRequest, type ExportArchiveRow } from '../operations/exports';
import { exportRequestClosedSignal, jobWorkflowId } from '../workflows/contracts';
import { startJobWorkflow } from './job-control';
import type { AuthUser } from './plugins/auth';
import { iso } from './views';

export interface StartCustomerExport {
  customerId: string;
  /** The privacy request it answers, when there is one (it must be about this customer). */
  requestId?: string | null | undefined;
  user: AuthUser;
  idempotencyKey?: string | undefined;
}

/**
 * Records an export job and its archive, and starts its workflow
 * (`export-<jobId>`). The same Idempotency-Key gives back the same job.
 */
export async function startCustomerExport(
  app: FastifyInstance,
  { customerId, requestId, user, idempotencyKey }: StartCustomerExport,
): Promise<{ job: JobRow; archive: ExportArchiveRow }> {
  const { job, archive } = await createExport(app.db, {
    customerId,
    requestId: requestId ?? undefined,
    userId: user.id,
    idempotencyKey,
    ttlMs: app.config.exportTtlMs,
    workflowIdOf: (jobId) => jobWorkflowId('export', jobId),
  });
  const started = await startJobWorkflow(app, job, {
    type: 'export',
    user,
    params: job.params,
    customerIds: [customerId],
    summary: `Export customer ${customerId}${requestId ? ` for request ${requestId}` : ''}`,
    idempotencyKey,
  });
  return { job: started, archive };
}

/**
 * Tells the export workflows of a request that has just closed (its archives
 * are already deleted in Postgres) to end now rather than at the expiry. A
 * workflow that has ended is no one to tell.
 */
export async function tellExportsRequestClosed(
  app: FastifyInstance,
  requestId: string,
): Promise<void> {
  for (const jobId of await exportJobsOfRequest(app.db, requestId)) {
    try {
      await app.temporal.workflow
        .getHandle(jobWorkflowId('export', jobId))
        .signal(exportRequestClosedSignal);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}

export const exportView = (app: FastifyInstance, archive: ExportArchiveRow) => ({
  id: archive.id,
  customerId: archive.customerId,
  requestId: archive.requestId,
  jobId: archive.jobId,
  status:
    archive.status !== 'expired' && archive.expiresAt.getTime() <= Date.now()
      ? ('expired' as const)
      : archive.status,
  counts: archive.counts,
  size: archive.size,
  sha256: archive.sha256,
  createdAt: iso(archive.createdAt),
  readyAt: archive.readyAt ? iso(archive.readyAt) : null,
  expiresAt: iso(archive.expiresAt),
  downloadUrl: `${app.config.publicUrl}/v1/exports/${archive.id}/download`,
});
