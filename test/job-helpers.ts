/** What every job test shares: the job resource as the API shows it, and waiting for one to end. */
import { expect } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { createJob } from '../db/queries/job-rows';
import { jobs } from '../db/schema';
import type { Config } from '../lib/config';
import { searchAttributes } from '../workflows/contracts';
import { eventually, startTestApp, uniqueWord, type TestApp } from './helpers';

export interface Job<P = Record<string, unknown> | null> {
  id: string;
  type: string;
  status: string;
  startedBy: string | null;
  params: Record<string, unknown>;
  workflowId: string;
  temporalUiUrl: string;
  preview: P;
  progress: { total: number; done: number; failed: number };
  result: { counts: Record<string, number>; indexPending: boolean } | null;
  error: { code: string; message: string } | null;
  expiresAt: string | null;
  completedAt: string | null;
}

const finished = ['completed', 'failed', 'rejected', 'expired', 'cancelled'];

/** Polls the job until it has ended, and returns it. */
export async function jobWhenFinished(t: TestApp, jobId: string, timeoutMs = 30_000): Promise<Job> {
  return eventually(
    async () => {
      const response = await t.call('GET', `/v1/jobs/${jobId}`);
      expect(response.statusCode, response.body).toBe(200);
      const job = response.json<Job>();
      return finished.includes(job.status) ? job : undefined;
    },
    timeoutMs,
    `job ${jobId} to finish`,
  );
}

/** A customer with conversations (each with a message) and KObjects of `klass`. */
export async function customerWithItems(
  t: TestApp,
  {
    name,
    klass,
    conversations = 0,
    kobjects = 0,
    extra = {},
  }: {
    name: string;
    klass?: string;
    conversations?: number;
    kobjects?: number;
    extra?: Record<string, unknown>;
  },
) {
  const customer = await t.create('/v1/customers', { name, ...extra });
  const conversationIds: string[] = [];
  for (let i = 0; i < conversations; i++) {
    const conversation = await t.create(`/v1/customers/${customer.id}/conversations`, {
      channel: 'email',
      subject: `${name} #${i}`,
      messages: [{ direction: 'inbound', body: `Message from ${name} #${i}` }],
    });
    conversationIds.push(conversation.id);
  }
  const kobjectIds: string[] = [];
  for (let i = 0; i < kobjects; i++) {
    const kobject = await t.create(`/v1/customers/${customer.id}/kobjects`, {
      klass,
      title: `${name} order ${i}`,
      data: { note: `${name} data ${i}` },
    });
    kobjectIds.push(kobject.id);
  }
  return { id: customer.id, conversationIds, kobjectIds };
}

/** The API with a worker on its own task queue and a klass of its own: where every job test starts. */
export async function startJobTestApp(config?: Config): Promise<{ t: TestApp; klass: string }> {
  const t = await startTestApp({ worker: true, ...(config ? { config } : {}) });
  const klass = `k${uniqueWord('')}`;
  await t.create('/v1/klasses', { name: klass, title: 'Order' });
  return { t, klass };
}

/** The workflow's description once its status search attribute says `status`. */
export function descriptionWhen(t: TestApp, workflowId: string, status: string) {
  const handle = t.temporal.workflow.getHandle(workflowId);
  return eventually(
    async () => {
      const d = await handle.describe();
      return d.typedSearchAttributes.get(searchAttributes.jobStatus) === status ? d : undefined;
    },
    10_000,
    `search attribute jobStatus=${status} on ${workflowId}`,
  );
}

/** Stands in for a deletion job of this customer that ended as given, with the counts it reports. */
export async function finishedDeleteJob(
  t: { db: Database; adminId: string },
  customerId: string,
  status: 'completed' | 'failed',
  counts: Record<string, number> = {},
): Promise<string> {
  const id = randomUUID();
  await createJob(t.db, {
    id,
    type: 'delete',
    startedBy: t.adminId,
    params: { entity: 'customer', id: customerId },
    workflowId: `delete-${id}`,
  });
  await t.db
    .update(jobs)
    .set({
      status,
      ...(status === 'completed'
        ? { result: { counts } }
        : { error: { code: 'SEARCH_UNAVAILABLE', message: 'x' } }),
      completedAt: new Date(),
    })
    .where(eq(jobs.id, id));
  return id;
}

/** A bulk erasure's preview as POST /v1/bulk-deletes answers it. */
export interface BulkPreview {
  job: Job;
  selection: {
    count: number;
    notFound: number;
    firstPage: { id: string; displayName: string | null }[];
    savedSearch: {
      id: string;
      name: string | null;
      query: string | null;
      filters: Record<string, unknown> | null;
      changedSincePreview: boolean;
    } | null;
  };
}

/**
 * Previews a bulk erasure and confirms it with the previewed count, as a
 * careful user does; returns the preview and the confirmed job (202 or 200).
 */
export async function startBulkErasure(
  t: TestApp,
  body: Record<string, unknown>,
  options: { key?: string; headers?: Record<string, string> } = {},
): Promise<{ preview: BulkPreview; job: Job }> {
  const previewed = await t.call('POST', '/v1/bulk-deletes', { ...options, body });
  expect(previewed.statusCode, previewed.body).toBe(202);
  let preview = previewed.json<BulkPreview>();
  // An API answering sooner than the preview is ready says `pending`; the selection follows.
  if (preview.job.status === 'pending') {
    preview = await eventually(async () => {
      const shown = await t.call('GET', `/v1/bulk-deletes/${preview.job.id}/selection`, options);
      const body = shown.json<BulkPreview>();
      return body.job.status === 'pending' ? undefined : body;
    });
  }
  expect(preview.job.status).toBe('awaiting_confirmation');
  const confirmed = await t.call('POST', `/v1/bulk-deletes/${preview.job.id}/confirm`, {
    ...(options.key ? { key: options.key } : {}),
    body: { confirm: 'DELETE', count: preview.selection.count },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(202);
  return { preview, job: confirmed.json<{ job: Job }>().job };
}

/**
 * Holds a customer's row lock in a transaction of its own, as a job working on
 * that customer would, until `release()`; resolves once the lock is taken.
 */
export async function holdCustomerRow(
  t: TestApp,
  customerId: string,
): Promise<{ release: () => Promise<void> }> {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked = () => {};
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = t.db.transaction(async (tx) => {
    await tx.execute(sql`select id from customers where id = ${customerId} for update`);
    locked();
    await released;
  });
  await Promise.race([isLocked, holding]);
  return {
    release: async () => {
      release();
      await holding;
    },
  };
}
