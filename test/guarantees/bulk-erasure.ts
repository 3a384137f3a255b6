/**
 * Starts a bulk erasure the way a caller does under either contract: the job
 * may answer pending (wait for its preview), awaiting confirmation (confirm
 * with the previewed count) or already running.
 */
import { expect } from 'vitest';
import { eventually, type TestApp } from '../helpers';
import type { Job } from '../jobs';

export async function startBulkErasure(
  t: TestApp,
  body: { entity: string; ids?: string[]; savedSearchId?: string },
  { key }: { key?: string } = {},
): Promise<Job> {
  const started = await t.call('POST', '/v1/bulk-deletes', {
    ...(key ? { key } : {}),
    body: { ...body, confirm: 'DELETE' },
  });
  expect(started.statusCode, started.body).toBe(202);
  let job = started.json<{ job: Job }>().job;
  if (job.status === 'pending') {
    const id = job.id;
    job = await eventually(
      async () => {
        const current = (await t.call('GET', `/v1/jobs/${id}`)).json<Job>();
        return current.status === 'pending' ? undefined : current;
      },
      15_000,
      `bulk job ${id} to leave pending`,
    );
  }
  if (job.status === 'awaiting_confirmation') {
    const count = (job.preview as { count?: number } | null)?.count;
    const confirmed = await t.call('POST', `/v1/bulk-deletes/${job.id}/confirm`, {
      ...(key ? { key } : {}),
      body: { confirm: 'DELETE', count },
    });
    expect([200, 202], confirmed.body).toContain(confirmed.statusCode);
    job = confirmed.json<{ job: Job }>().job;
  }
  return job;
}
