/**
 * Starts a bulk erasure as the API's contract says, before and after bulk
 * erasures became previewed and confirmed by count: POST answers 202 with
 * the job; a `pending` job is polled until it is not; an
 * `awaiting_confirmation` one is confirmed with its previewed count.
 */
import { expect } from 'vitest';
import { eventually, type TestApp } from '../helpers';

interface StartedJob {
  id: string;
  status: string;
  preview?: { count?: number } | null;
}

export async function startBulkErasure(
  t: TestApp,
  body: { entity: string; ids: string[] },
  key = t.adminKey,
): Promise<string> {
  const started = await t.call('POST', '/v1/bulk-deletes', {
    key,
    body: { ...body, confirm: 'DELETE' },
  });
  expect(started.statusCode, started.body).toBe(202);
  const answer = started.json<{ job: StartedJob; selection?: { count?: number } }>();
  let job = answer.job;
  if (job.status === 'pending') {
    job = await eventually(
      async () => {
        const current = (await t.call('GET', `/v1/jobs/${job.id}`, { key })).json<StartedJob>();
        return current.status === 'pending' ? undefined : current;
      },
      30_000,
      `bulk job ${job.id} to leave pending`,
    );
  }
  if (job.status === 'awaiting_confirmation') {
    const count = job.preview?.count ?? answer.selection?.count;
    const confirmed = await t.call('POST', `/v1/bulk-deletes/${job.id}/confirm`, {
      key,
      body: { confirm: 'DELETE', count },
    });
    expect([200, 202], confirmed.body).toContain(confirmed.statusCode);
  }
  return job.id;
}
