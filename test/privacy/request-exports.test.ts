/**
 * An access request's export lives no longer than the request: delivering it
 * needs a ready export and deletes it, declining deletes it, an erasure of the
 * customer closes the request, and the export's workflow learns of the close
 * by signal (it would otherwise wait seven days). An export discarded while it
 * is built ends EXPORT_DISCARDED, and a build retried after a crash leaves one
 * complete, correct archive.
 */
import { and, eq, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLog,
  exportArchiveChunks,
  exportArchives,
  gdprRequests,
  notifications,
} from '../../db/schema';
import { buildExportArchive, createExport } from '../../operations/exports';
import { declineGdprRequest } from '../../operations/gdpr-requests';
import { jobWorkflowId } from '../../workflows/contracts';
import { eventually, problemOf, uniqueWord, userWithKey, type TestApp } from '../helpers';
import { unzip } from '../exports';
import { jobWhenFinished, startJobTestApp, type Job } from '../job-helpers';

interface ExportView {
  id: string;
  status: string;
  counts: Record<string, number>;
}
interface Started {
  job: Job;
  export: ExportView;
}

let t: TestApp;
beforeAll(async () => {
  ({ t } = await startJobTestApp());
});
afterAll(async () => {
  await t?.close();
});

const newCustomer = async (prefix = 'zqre') =>
  (await t.create<{ id: string }>('/v1/customers', { name: uniqueWord(prefix) })).id;

const accessRequest = (customerId: string, regulation = 'uk_gdpr') =>
  t.create<{ id: string; workflowId: string }>('/v1/privacy-requests', {
    customerId,
    type: 'access',
    regulation,
  });

async function exportOf(requestId: string): Promise<Started> {
  const started = await t.call('POST', `/v1/privacy-requests/${requestId}/export`);
  expect(started.statusCode, started.body).toBe(202);
  return started.json<Started>();
}

async function readyExportOf(requestId: string): Promise<Started> {
  const started = await exportOf(requestId);
  const job = await jobWhenFinished(t, started.job.id, 60_000);
  expect(job.status, JSON.stringify(job.error)).toBe('completed');
  return started;
}

const chunksOf = async (archiveId: string) =>
  t.db
    .select({ seq: exportArchiveChunks.seq, data: exportArchiveChunks.data })
    .from(exportArchiveChunks)
    .where(eq(exportArchiveChunks.archiveId, archiveId))
    .orderBy(exportArchiveChunks.seq);

const archiveRow = async (archiveId: string) =>
  (await t.db.select().from(exportArchives).where(eq(exportArchives.id, archiveId)))[0];

/** The export's workflow has ended, well before its 7-day expiry: it learned of the close. */
async function exportWorkflowEnded(jobId: string) {
  const handle = t.temporal.workflow.getHandle(jobWorkflowId('export', jobId));
  const result: unknown = await Promise.race([
    handle.result() as Promise<unknown>,
    new Promise((resolve) => setTimeout(() => resolve('still waiting'), 20_000)),
  ]);
  return result;
}

/** Waits until a session of Postgres waits for a lock while running `query`. */
async function someoneWaitsFor(query: string) {
  await eventually(
    async () => {
      const rows = await t.db.execute<{ n: string }>(sql`
        select count(*) as n from pg_stat_activity
        where wait_event_type = 'Lock' and query ilike ${`%${query}%`}`);
      return Number(rows.rows[0]!.n) > 0 ? true : undefined;
    },
    30_000,
    `a session waiting on a lock in "${query}"`,
  );
}

describe('an access request and its export', () => {
  it('delivers only from a ready export, tells every handler it is ready, and deletes it on delivery', async () => {
    const customerId = await newCustomer();
    const request = await accessRequest(customerId);
    const handler = await userWithKey(t.db, { permissions: ['gdpr.manage'] });
    const reader = await userWithKey(t.db, { permissions: ['customers.read'] });

    const early = await t.call('POST', `/v1/privacy-requests/${request.id}/deliver`, {
      body: { method: 'email' },
    });
    expect(problemOf(early)).toMatchObject({ status: 409, code: 'EXPORT_REQUIRED' });
    expect(
      (await t.db.select().from(gdprRequests).where(eq(gdprRequests.id, request.id)))[0]!.status,
    ).toBe('open');

    const started = await readyExportOf(request.id);
    // Every gdpr.manage user is told, not only the admin who started it; others are not.
    const told = await eventually(async () => {
      const rows = await t.db
        .select()
        .from(notifications)
        .where(eq(notifications.jobId, started.job.id));
      return rows.some((row) => row.userId === handler.id) ? rows : undefined;
    });
    const recipients = told.map((row) => row.userId);
    expect(recipients).toEqual(expect.arrayContaining([t.adminId, handler.id]));
    expect(recipients).not.toContain(reader.id);
    const notice = told.find((row) => row.userId === handler.id)!;
    expect(notice).toMatchObject({
      title: 'Export ready for privacy request (access, UK GDPR)',
      gdprRequestId: request.id,
    });
    expect(notice.body).toContain(started.export.id);
    expect((await t.call('GET', `/v1/exports/${started.export.id}/download`)).statusCode).toBe(200);
    expect((await chunksOf(started.export.id)).length).toBeGreaterThan(0);

    const delivered = await t.call('POST', `/v1/privacy-requests/${request.id}/deliver`, {
      body: { method: 'portal' },
    });
    expect(delivered.statusCode, delivered.body).toBe(200);
    expect(delivered.json()).toMatchObject({ status: 'completed' });
    expect(await chunksOf(started.export.id)).toEqual([]);
    expect(await archiveRow(started.export.id)).toMatchObject({ status: 'expired' });
    const gone = await t.call('GET', `/v1/exports/${started.export.id}/download`);
    expect(problemOf(gone)).toMatchObject({ status: 410, code: 'EXPORT_EXPIRED' });
    expect((await t.call('GET', `/v1/exports/${started.export.id}`)).json()).toMatchObject({
      status: 'expired',
    });
    expect(await exportWorkflowEnded(started.job.id)).toMatchObject({ status: 'completed' });
    const [audit] = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectId, request.id), eq(auditLog.action, 'gdpr_request.delivered')));
    expect(audit!.details).toMatchObject({ exportsDeleted: 1 });
  }, 120_000);

  it('deletes the export when the request is declined, and its workflow ends', async () => {
    const request = await accessRequest(await newCustomer(), 'ccpa');
    const started = await readyExportOf(request.id);
    const declined = await t.call('POST', `/v1/privacy-requests/${request.id}/decline`, {
      body: { reason: 'other' },
    });
    expect(declined.statusCode, declined.body).toBe(200);
    expect(await chunksOf(started.export.id)).toEqual([]);
    const gone = await t.call('GET', `/v1/exports/${started.export.id}/download`);
    expect(problemOf(gone)).toMatchObject({ status: 410, code: 'EXPORT_EXPIRED' });
    expect(await exportWorkflowEnded(started.job.id)).toMatchObject({ status: 'completed' });
    // A closed request takes no new export, from either route.
    const again = await t.call(
      'POST',
      `/v1/customers/${declined.json<{ customerId: string }>().customerId}/exports`,
      {
        body: { requestId: request.id },
      },
    );
    expect(problemOf(again)).toMatchObject({ status: 409, code: 'REQUEST_CLOSED' });
  }, 120_000);

  it('an erasure of the customer closes its open access request: declined customer_erased, archive gone, workflow ended', async () => {
    const customerId = await newCustomer();
    const request = await accessRequest(customerId, 'gdpr');
    const started = await readyExportOf(request.id);
    const erased = await t.call('DELETE', `/v1/customers/${customerId}`, {
      body: { confirm: 'DELETE' },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    const detail = await t.call('GET', `/v1/privacy-requests/${request.id}`);
    expect(detail.json()).toMatchObject({
      status: 'declined',
      decline: { reason: 'customer_erased' },
    });
    expect(await archiveRow(started.export.id)).toBeUndefined();
    expect(await chunksOf(started.export.id)).toEqual([]);
    expect(await t.temporal.workflow.getHandle(request.workflowId).result()).toMatchObject({
      status: 'declined',
    });
    expect(await exportWorkflowEnded(started.job.id)).toMatchObject({ status: 'completed' });
    const deliver = await t.call('POST', `/v1/privacy-requests/${request.id}/deliver`, {
      body: { method: 'email' },
    });
    expect(problemOf(deliver)).toMatchObject({ status: 409, code: 'REQUEST_CLOSED' });
  }, 120_000);
});

describe('an export discarded while it is built', () => {
  it('ends EXPORT_DISCARDED when its request closes mid-build: nothing kept, the link answers 410', async () => {
    const request = await accessRequest(await newCustomer());
    // The events table, held here: the build stops mid-way, at its seventh kind.
    let started: Started | undefined;
    await t.db.transaction(async (tx) => {
      await tx.execute(sql`lock table engagement_events in access exclusive mode`);
      started = await exportOf(request.id);
      await someoneWaitsFor('engagement_events');
      const job = (await t.call('GET', `/v1/jobs/${started.job.id}`)).json<Job>();
      expect(job).toMatchObject({ status: 'running', progress: { done: 6 } });
      await declineGdprRequest(tx, request.id, { reason: 'other', note: null, userId: t.adminId });
    });
    const job = await jobWhenFinished(t, started!.job.id, 60_000);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'EXPORT_DISCARDED' } });
    expect(await chunksOf(started!.export.id)).toEqual([]);
    expect(await archiveRow(started!.export.id)).toMatchObject({ status: 'expired' });
    const gone = await t.call('GET', `/v1/exports/${started!.export.id}/download`);
    expect(problemOf(gone)).toMatchObject({ status: 410, code: 'EXPORT_EXPIRED' });
  }, 120_000);

  it('ends EXPORT_DISCARDED when its customer is erased before the build begins', async () => {
    const customerId = await newCustomer();
    let started: Started | undefined;
    await t.db.transaction(async (tx) => {
      started = (
        await t.call('POST', `/v1/customers/${customerId}/exports`, { body: {} })
      ).json<Started>();
      // The build's advisory lock, held here: the build waits at its start.
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtext(${`export:${started.export.id}`}))`,
      );
      await someoneWaitsFor('pg_advisory_xact_lock');
      const erased = await t.call('DELETE', `/v1/customers/${customerId}`, {
        body: { confirm: 'DELETE' },
      });
      expect(erased.statusCode, erased.body).toBe(200);
    });
    const handle = t.temporal.workflow.getHandle(started!.job.workflowId);
    expect(await handle.result()).toEqual({ status: 'failed', code: 'EXPORT_DISCARDED' });
    expect(await chunksOf(started!.export.id)).toEqual([]);
  }, 120_000);
});

describe('a build retried after a crash', () => {
  it('leaves one complete archive: the counts are the database’s, chunks numbered once, checksum of the bytes', async () => {
    const customerId = await newCustomer('zqcrash');
    // Random properties compress badly: the archive spans several 1 MiB chunks.
    await t.db.execute(sql`
      insert into engagement_events (customer_id, type, occurred_at, properties)
      select ${customerId}, 'page_view', now() - g * interval '1 second',
        jsonb_build_object('a', md5(random()::text) || md5(random()::text), 'b', md5(g::text || random()::text))
      from generate_series(1, 15000) g`);
    const { archive } = await createExport(t.db, {
      customerId,
      userId: t.adminId,
      ttlMs: 3_600_000,
      workflowIdOf: (jobId) => `test-crash-${jobId}`,
    });

    // The first attempt dies after some chunks are stored (a worker lost mid-build).
    let pages = 0;
    const crash = buildExportArchive(t.db, archive.id, {
      pageSize: 500,
      onPage: () => {
        pages += 1;
        if (pages === 55) throw new Error('worker lost');
      },
    });
    await expect(crash).rejects.toThrow('worker lost');
    const leftOver = await chunksOf(archive.id);
    expect(leftOver.length).toBeGreaterThan(0);
    expect((await archiveRow(archive.id))!.status).toBe('building');

    // The retry — and a stale attempt still running at the same time — finish it once.
    const [built, stale] = await Promise.all([
      buildExportArchive(t.db, archive.id, { pageSize: 500 }),
      buildExportArchive(t.db, archive.id, { pageSize: 500 }),
    ]);
    expect(stale).toEqual(built);
    const row = (await archiveRow(archive.id))!;
    expect(row.status).toBe('ready');
    const chunks = await chunksOf(archive.id);
    expect(chunks.map((chunk) => chunk.seq)).toEqual(chunks.map((_, i) => i));
    const bytes = Buffer.concat(chunks.map((chunk) => chunk.data));
    expect(bytes.length).toBe(row.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(row.sha256);
    const files = unzip(bytes);
    const events = files.get('events.jsonl')!.trimEnd().split('\n');
    expect(events).toHaveLength(15000);
    expect(new Set(events).size).toBe(15000);
    expect(row.counts).toMatchObject({ profile: 1, events: 15000 });
    expect(JSON.parse(files.get('manifest.json')!)).toMatchObject({
      exportId: archive.id,
      counts: row.counts,
    });
  }, 180_000);
});
