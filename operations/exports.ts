/**
 * Customer exports (access requests, GDPR Art. 15/20): one ZIP archive of
 * everything Custodian holds about one customer, built by the export job's
 * activity and stored in Postgres in ~1 MiB chunks, so the expiry, the close
 * of its privacy request, an erasure of the customer and nothing else decide
 * how long it lives. The workflow sees the archive's ID and counts only.
 */
import { and, eq, sql } from 'drizzle-orm';
import { createHash, randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/client';
import { isForeignKeyViolation } from '../db/errors';
import { uuidArray } from '../db/sql';
import { audit } from '../db/queries/audit';
import { createJob, transitionJob, type JobRow } from '../db/queries/job-rows';
import { customers, exportArchiveChunks, exportArchives, gdprRequests, jobs } from '../db/schema';
import { DomainError, notFound } from '../lib/errors';
import { ZipWriter } from '../lib/zip-writer';
import { exportKinds, type ExportKind } from './export-kinds';
import { Limit } from '../lib/limit';

export type ExportArchiveRow = typeof exportArchives.$inferSelect;

/** Bytes per stored chunk: one row is read per step of a download. */
export const CHUNK_SIZE = 1 << 20;
/** Rows read per keyset page. */
export const EXPORT_PAGE_SIZE = 1000;
/** Bumped when a file's shape changes; readers check it in manifest.json. */
export const EXPORT_FORMAT_VERSION = 1;

const discarded = (archiveId: string) =>
  new DomainError(
    'conflict',
    'EXPORT_DISCARDED',
    'The export archive was deleted while it was being built (its customer was erased, or its request closed).',
    { exportId: archiveId },
  );

/** SQL: the archive answers no request, or one still being worked on. */
const requestStillOpen = sql<boolean>`(${exportArchives.requestId} is null or exists (
  select 1 from gdpr_requests r
  where r.id = ${exportArchives.requestId} and r.status in ('open', 'overdue')))`;

export interface CreateExport {
  customerId: string;
  requestId?: string | undefined;
  userId: string;
  idempotencyKey?: string | undefined;
  ttlMs: number;
  workflowIdOf: (jobId: string) => string;
}

/**
 * Records an export job and its (empty, `building`) archive. The customer
 * must exist; a request, when named, must be about that customer. The same
 * Idempotency-Key gives back the same job and archive.
 */
export async function createExport(
  db: Database,
  { customerId, requestId, userId, idempotencyKey, ttlMs, workflowIdOf }: CreateExport,
): Promise<{ job: JobRow; archive: ExportArchiveRow; created: boolean }> {
  const [customer] = await db
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.id, customerId));
  if (!customer) throw notFound('Customer', customerId);
  if (requestId) {
    const [request] = await db
      .select({ customerId: gdprRequests.customerId, status: gdprRequests.status })
      .from(gdprRequests)
      .where(eq(gdprRequests.id, requestId));
    if (!request) throw notFound('GDPR request', requestId);
    // Its archive would be deleted at once: a closed request keeps no copy of the data.
    if (request.status !== 'open' && request.status !== 'overdue')
      throw new DomainError(
        'conflict',
        'REQUEST_CLOSED',
        `The request is already ${request.status}.`,
        {
          gdprRequestId: requestId,
          requestStatus: request.status,
        },
      );
    if (request.customerId !== customerId)
      throw new DomainError(
        'unprocessable',
        'EXPORT_REQUEST_MISMATCH',
        `The request ${requestId} is about another customer than ${customerId}.`,
        { requestId, customerId },
      );
  }
  const jobId = randomUUID();
  const { job, created } = await createJob(db, {
    id: jobId,
    type: 'export',
    startedBy: userId,
    params: { customerId, requestId: requestId ?? null },
    workflowId: workflowIdOf(jobId),
    idempotencyKey,
  });
  // A retried request (same key) finds the archive the first one recorded.
  await db
    .insert(exportArchives)
    .values({
      customerId,
      requestId: requestId ?? null,
      jobId: job.id,
      expiresAt: new Date(job.createdAt.getTime() + ttlMs),
    })
    .onConflictDoNothing({ target: exportArchives.jobId });
  const archive = await archiveOfJob(db, job.id);
  if (!archive) throw discarded(job.id);
  if (created) {
    await db
      .update(jobs)
      .set({ progressTotal: exportKinds.length })
      .where(and(eq(jobs.id, job.id), eq(jobs.status, 'pending')));
    await audit(db, [
      {
        actorUserId: userId,
        action: 'export.requested',
        objectType: 'customer',
        objectId: customerId,
        jobId: job.id,
        details: { exportId: archive.id, requestId: requestId ?? null },
      },
    ]);
  }
  return { job, archive, created };
}

export async function archiveOfJob(
  db: Queryable,
  jobId: string,
): Promise<ExportArchiveRow | undefined> {
  const [archive] = await db.select().from(exportArchives).where(eq(exportArchives.jobId, jobId));
  return archive;
}

export async function findExport(
  db: Queryable,
  archiveId: string,
): Promise<ExportArchiveRow | undefined> {
  const [archive] = await db.select().from(exportArchives).where(eq(exportArchives.id, archiveId));
  return archive;
}

/** What the export job's workflow needs to know: IDs and the expiry, never content. */
export async function startExportBuild(
  db: Database,
  jobId: string,
): Promise<{ archiveId: string; expiresAt: string }> {
  const [archive] = await db
    .select({ row: exportArchives, open: requestStillOpen })
    .from(exportArchives)
    .where(eq(exportArchives.jobId, jobId));
  if (!archive) throw discarded(jobId);
  // Its request closed between the export's start and this step: nothing is built.
  if (!archive.open || archive.row.status === 'expired') throw discarded(archive.row.id);
  await transitionJob(db, jobId, ['pending'], 'running');
  return { archiveId: archive.row.id, expiresAt: archive.row.expiresAt.toISOString() };
}

/** Collects the archive's bytes into chunks of CHUNK_SIZE and stores each as it fills. */
class ChunkStore {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private seq = 0;
  size = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly db: Database,
    private readonly archiveId: string,
  ) {}

  readonly sink = async (bytes: Buffer): Promise<void> => {
    this.hash.update(bytes);
    this.size += bytes.length;
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    if (this.bufferedBytes >= CHUNK_SIZE) await this.flush();
  };

  async flush(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    const data = Buffer.concat(this.buffered);
    this.buffered = [];
    this.bufferedBytes = 0;
    try {
      await this.db
        .insert(exportArchiveChunks)
        .values({ archiveId: this.archiveId, seq: this.seq, data });
    } catch (error) {
      // The archive row went (an erasure of its customer) while it was being built.
      if (isForeignKeyViolation(error)) throw discarded(this.archiveId);
      throw error;
    }
    this.seq += 1;
  }

  digest = () => this.hash.digest('hex');
}

export interface BuildOptions {
  /** Called after every page: the activity heartbeats. */
  onPage?: () => void;
  pageSize?: number;
}

/**
 * Builds the archive from scratch: a retry (after a crash or a lost worker)
 * first deletes the chunks an earlier attempt stored, under an advisory lock
 * that also keeps two attempts from writing at once. Every kind is read in
 * keyset pages inside one read-only REPEATABLE READ transaction, so all files
 * and the manifest's counts describe one moment; the bytes go to Postgres as
 * they are produced, one chunk at a time. Idempotent: an archive already
 * ready is left as it is.
 */
/**
 * A build holds two pooled connections at once — its read-only snapshot and
 * the one that stores chunks — so builds beyond this many at once in one
 * process would each hold one and wait for another: a pool of 10 deadlocked
 * under 24 parallel exports. The rest wait their turn (heartbeating).
 */
const EXPORT_BUILDS_AT_ONCE = 2;
const builds = new Limit(EXPORT_BUILDS_AT_ONCE);

export function buildExportArchive(
  db: Database,
  archiveId: string,
  options: BuildOptions = {},
): Promise<{ counts: Record<string, number>; size: number }> {
  return builds.run(() => buildExportArchiveNow(db, archiveId, options));
}

async function buildExportArchiveNow(
  db: Database,
  archiveId: string,
  { onPage = () => undefined, pageSize = EXPORT_PAGE_SIZE }: BuildOptions,
): Promise<{ counts: Record<string, number>; size: number }> {
  return db.transaction(
    async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`export:${archiveId}`}))`);
      const archive = await findExport(db, archiveId);
      if (!archive) throw discarded(archiveId);
      if (archive.status === 'ready') return { counts: archive.counts, size: archive.size ?? 0 };
      // Deleted by its request's close before this attempt began.
      if (archive.status === 'expired') throw discarded(archiveId);
      if (archive.status !== 'building')
        throw new DomainError(
          'conflict',
          'EXPORT_NOT_BUILDING',
          `The export is ${archive.status}.`,
          {
            exportId: archiveId,
          },
        );
      await db.delete(exportArchiveChunks).where(eq(exportArchiveChunks.archiveId, archiveId));
      const [customer] = await tx
        .select({ id: customers.id })
        .from(customers)
        .where(eq(customers.id, archive.customerId));
      if (!customer) throw notFound('Customer', archive.customerId);

      const store = new ChunkStore(db, archiveId);
      const generatedAt = new Date();
      const zip = new ZipWriter(store.sink, generatedAt);
      const counts: Record<string, number> = {};
      const files: { path: string; kind: string; format: string; records: number }[] = [];
      for (const [index, kind] of exportKinds.entries()) {
        counts[kind.name] = await writeJson(zip, tx, kind, archive.customerId, pageSize, onPage);
        files.push({
          path: kind.file,
          kind: kind.name,
          format: kind.file.endsWith('.jsonl') ? 'jsonl' : 'json',
          records: counts[kind.name]!,
        });
        await writeCsv(zip, tx, kind, archive.customerId, pageSize, onPage);
        files.push({
          path: `csv/${kind.name}.csv`,
          kind: kind.name,
          format: 'csv',
          records: counts[kind.name]!,
        });
        await db
          .update(jobs)
          .set({ progressDone: index + 1, updatedAt: sql`now()` })
          .where(and(eq(jobs.id, archive.jobId), eq(jobs.status, 'running')));
      }
      const manifest = {
        format: 'custodian-customer-export',
        formatVersion: EXPORT_FORMAT_VERSION,
        exportId: archive.id,
        customerId: archive.customerId,
        requestId: archive.requestId,
        jobId: archive.jobId,
        generatedAt: generatedAt.toISOString(),
        expiresAt: archive.expiresAt.toISOString(),
        counts,
        files: [{ path: 'manifest.json', kind: 'manifest', format: 'json', records: 1 }, ...files],
      };
      const entry = await zip.entry('manifest.json');
      await entry.write(`${JSON.stringify(manifest, null, 2)}\n`);
      await entry.end();
      await zip.finish();
      await store.flush();
      const [ready] = await db
        .update(exportArchives)
        .set({
          status: 'ready',
          counts,
          size: store.size,
          sha256: store.digest(),
          readyAt: sql`now()`,
        })
        .where(
          and(
            eq(exportArchives.id, archiveId),
            eq(exportArchives.status, 'building'),
            // A request closed while this was built: its close deleted what there was.
            requestStillOpen,
          ),
        )
        .returning({ id: exportArchives.id });
      if (!ready) throw discarded(archiveId);
      return { counts, size: store.size };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

type Row = Record<string, unknown>;

/** Every row of a kind, page by page in its keyset order. */
async function* rowsOf(
  tx: Queryable,
  kind: ExportKind,
  customerId: string,
  pageSize: number,
  onPage: () => void,
): AsyncGenerator<Row[]> {
  let after: string[] | null = null;
  for (;;) {
    const result: { rows: { row: Row; cursor: string[] }[] } = await tx.execute<{
      row: Row;
      cursor: string[];
    }>(kind.page(customerId, after, pageSize));
    onPage();
    if (result.rows.length === 0) return;
    yield result.rows.map((r) => r.row);
    if (result.rows.length < pageSize || kind.single) return;
    after = result.rows[result.rows.length - 1]!.cursor;
  }
}

async function writeJson(
  zip: ZipWriter,
  tx: Queryable,
  kind: ExportKind,
  customerId: string,
  pageSize: number,
  onPage: () => void,
): Promise<number> {
  const entry = await zip.entry(kind.file);
  const lines = kind.file.endsWith('.jsonl');
  let count = 0;
  if (!lines && !kind.single) await entry.write('[');
  for await (const rows of rowsOf(tx, kind, customerId, pageSize, onPage)) {
    let text = '';
    for (const row of rows) {
      if (lines) text += `${JSON.stringify(row)}\n`;
      else if (kind.single) text += `${JSON.stringify(row, null, 2)}\n`;
      else text += `${count === 0 ? '\n' : ',\n'}  ${JSON.stringify(row)}`;
      count += 1;
    }
    await entry.write(text);
  }
  if (!lines && !kind.single) await entry.write(count === 0 ? ']\n' : '\n]\n');
  if (kind.single && count === 0) await entry.write('null\n');
  await entry.end();
  return count;
}

/**
 * RFC 4180: quoted when it holds a quote, comma, line break or edge space;
 * objects as JSON. A text starting with = + - @ (or a tab) gets a leading
 * apostrophe, so a spreadsheet shows a message body such as `=HYPERLINK(…)`
 * instead of running it; the JSON files keep every value exactly.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (typeof value === 'string') text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = JSON.stringify(value) ?? '';
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function writeCsv(
  zip: ZipWriter,
  tx: Queryable,
  kind: ExportKind,
  customerId: string,
  pageSize: number,
  onPage: () => void,
): Promise<void> {
  const entry = await zip.entry(`csv/${kind.name}.csv`);
  let columns: string[] | undefined = kind.columns;
  if (columns) await entry.write(`${columns.join(',')}\r\n`);
  for await (const rows of rowsOf(tx, kind, customerId, pageSize, onPage)) {
    let text = '';
    for (const row of rows) {
      if (!columns) {
        columns = Object.keys(row);
        text += `${columns.join(',')}\r\n`;
      }
      text += `${columns.map((column) => csvField(row[column])).join(',')}\r\n`;
    }
    await entry.write(text);
  }
  await entry.end();
}

/** Completes the export job with the archive's counts (the job resource shows them). */
export async function completeExportJob(
  db: Database,
  jobId: string,
  counts: Record<string, number>,
): Promise<void> {
  const archive = await archiveOfJob(db, jobId);
  await transitionJob(db, jobId, ['pending', 'running'], 'completed', {
    progressDone: exportKinds.length,
    result: { counts, exportId: archive?.id ?? null },
  });
}

/**
 * Deletes an archive's bytes and marks it `status` (expired, or failed when
 * its build could not finish). The row stays, with its counts (no personal
 * data), so a link to it answers 410 rather than 404. Safe to repeat.
 */
export async function discardExportArchive(
  db: Database,
  archiveId: string,
  status: 'expired' | 'failed',
): Promise<{ chunks: number }> {
  return db.transaction(async (tx) => {
    const [archive] = await tx
      .select({ id: exportArchives.id })
      .from(exportArchives)
      .where(eq(exportArchives.id, archiveId))
      .for('update');
    if (!archive) return { chunks: 0 };
    const gone = await tx
      .delete(exportArchiveChunks)
      .where(eq(exportArchiveChunks.archiveId, archiveId))
      .returning({ seq: exportArchiveChunks.seq });
    await tx
      .update(exportArchives)
      .set({
        status,
        ...(status === 'expired' ? { expiresAt: sql`least(expires_at, now())` } : {}),
      })
      // A build that failed because its request closed stays `expired`, as the close left it.
      .where(
        and(
          eq(exportArchives.id, archiveId),
          status === 'failed' ? sql`${exportArchives.status} <> 'expired'` : sql`true`,
        ),
      );
    return { chunks: gone.length };
  });
}

/**
 * Part of closing a privacy request (delivered, declined), in its
 * transaction: deletes the bytes of every archive made for it and marks each
 * `expired` now, so a download answers 410 EXPORT_EXPIRED. An archive still
 * being built ends EXPORT_DISCARDED (its last step sees the request closed).
 * Returns the export jobs whose workflows are to be told (they wait for the
 * expiry otherwise).
 */
export async function closeExportsOfRequest(tx: Queryable, requestId: string): Promise<string[]> {
  const closed = await tx
    .update(exportArchives)
    .set({ status: 'expired', expiresAt: sql`least(${exportArchives.expiresAt}, now())` })
    .where(eq(exportArchives.requestId, requestId))
    .returning({ id: exportArchives.id, jobId: exportArchives.jobId });
  if (closed.length > 0) {
    await tx.execute(
      sql`delete from export_archive_chunks where archive_id = any(${uuidArray(closed.map((a) => a.id))})`,
    );
  }
  return closed.map((archive) => archive.jobId);
}

/** The export jobs made for a request (their workflows learn of its close by signal). */
export async function exportJobsOfRequest(db: Queryable, requestId: string): Promise<string[]> {
  const rows = await db
    .select({ jobId: exportArchives.jobId })
    .from(exportArchives)
    .where(eq(exportArchives.requestId, requestId));
  return rows.map((row) => row.jobId);
}

/**
 * 409 EXPORT_REQUIRED unless the request has an archive that can be
 * downloaded now (ready, not past its expiry): an access request is
 * delivered from its export.
 */
export async function assertReadyExportOf(tx: Queryable, requestId: string): Promise<void> {
  const [ready] = await tx
    .select({ id: exportArchives.id })
    .from(exportArchives)
    .where(
      and(
        eq(exportArchives.requestId, requestId),
        eq(exportArchives.status, 'ready'),
        sql`${exportArchives.expiresAt} > now()`,
      ),
    )
    .limit(1);
  if (ready) return;
  const [building] = await tx
    .select({ id: exportArchives.id })
    .from(exportArchives)
    .where(and(eq(exportArchives.requestId, requestId), eq(exportArchives.status, 'building')))
    .limit(1);
  throw new DomainError(
    'conflict',
    'EXPORT_REQUIRED',
    building
      ? `The export ${building.id} of this request is still being built; deliver once it is ready.`
      : 'This access request has no export ready to deliver; start one with POST …/{id}/export.',
    { gdprRequestId: requestId, ...(building ? { exportId: building.id } : {}) },
  );
}

/**
 * Part of a customer erasure, in its transaction: deletes the archives of
 * these customers and of the customers merged into them (an archive of a
 * merged-away customer holds data that now belongs to the survivor). Runs
 * before the erasure removes the merge redirects. Returns archives deleted per customer.
 */
export async function deleteExportsOf(
  tx: Queryable,
  customerIds: string[],
): Promise<Record<string, number>> {
  if (customerIds.length === 0) return {};
  const result = await tx.execute<{ owner: string; n: number }>(sql`
    with owners as (
      select id as customer_id, id as owner from unnest(${uuidArray(customerIds)}) id
      union all
      select source_customer_id, target_customer_id from merge_redirects
      where target_customer_id = any(${uuidArray(customerIds)})
    ),
    gone as (
      delete from export_archives a using owners o where a.customer_id = o.customer_id
      returning o.owner
    )
    select owner, count(*)::int as n from gone group by owner`);
  return Object.fromEntries(result.rows.map((row) => [row.owner, row.n]));
}

export type DownloadableExport = ExportArchiveRow & { size: number };

/**
 * The archive, if it can be downloaded now: 410 EXPORT_EXPIRED after its
 * expiry (also before the expiry step has deleted the bytes), 409
 * EXPORT_NOT_READY while it is being built. Audits the download.
 */
export async function openExportDownload(
  db: Database,
  archiveId: string,
  userId: string,
): Promise<DownloadableExport> {
  const [archive] = await db
    .select({ row: exportArchives, expired: sql<boolean>`${exportArchives.expiresAt} <= now()` })
    .from(exportArchives)
    .where(eq(exportArchives.id, archiveId));
  if (!archive) throw notFound('Export', archiveId);
  if (archive.expired || archive.row.status === 'expired')
    throw new DomainError(
      'gone',
      'EXPORT_EXPIRED',
      `The export ${archiveId} expired at ${archive.row.expiresAt.toISOString()}; start a new one.`,
      { exportId: archiveId, expiresAt: archive.row.expiresAt.toISOString() },
    );
  if (archive.row.status !== 'ready' || archive.row.size === null)
    throw new DomainError(
      'conflict',
      'EXPORT_NOT_READY',
      `The export ${archiveId} is ${archive.row.status}; it can be downloaded once it is ready.`,
      { exportId: archiveId, exportStatus: archive.row.status },
    );
  await audit(db, [
    {
      actorUserId: userId,
      action: 'export.downloaded',
      objectType: 'customer',
      objectId: archive.row.customerId,
      jobId: archive.row.jobId,
      details: { exportId: archiveId, requestId: archive.row.requestId, size: archive.row.size },
    },
  ]);
  return { ...archive.row, size: archive.row.size };
}

/** The archive's bytes, one stored chunk at a time; fails if they are deleted mid-way. */
export async function* exportChunks(db: Database, archiveId: string): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const [chunk] = await db
      .select({ data: exportArchiveChunks.data })
      .from(exportArchiveChunks)
      .where(and(eq(exportArchiveChunks.archiveId, archiveId), eq(exportArchiveChunks.seq, seq)));
    if (!chunk) {
      const [more] = await db
        .select({ seq: exportArchiveChunks.seq })
        .from(exportArchiveChunks)
        .where(and(eq(exportArchiveChunks.archiveId, archiveId), sql`seq > ${seq}`))
        .limit(1);
      if (more || seq === 0) throw new Error('EXPORT_CHUNKS_MISSING');
      return;
    }
    yield chunk.data;
  }
}
