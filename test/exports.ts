/** Reading export archives in tests: a small ZIP reader (central directory + inflateRaw). */
import { randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { Database } from '../db/client';
import { createJob } from '../db/queries/job-rows';
import { exportArchives } from '../db/schema';

/** Every entry of a ZIP archive, by name, inflated. */
export function unzip(archive: Buffer): Map<string, string> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('no end of central directory');
  const entries = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, string>();
  for (let i = 0; i < entries; i++) {
    if (archive.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory');
    const method = archive.readUInt16LE(at + 10);
    const compressed = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const extra = archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32);
    const offset = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    const local =
      offset + 30 + archive.readUInt16LE(offset + 26) + archive.readUInt16LE(offset + 28);
    const data = archive.subarray(local, local + compressed);
    const content = method === 8 ? inflateRawSync(data) : data;
    if (content.length !== size) throw new Error(`size of ${name}`);
    files.set(name, content.toString('utf8'));
    at += 46 + nameLength + extra;
  }
  return files;
}

/** RFC 4180 rows of a CSV text. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/**
 * A ready export archive of a request, written straight into Postgres (a job
 * row and an archive row, no workflow): for tests about delivering a request
 * whose clock runs on a time-skipping server, where a real export's expiry
 * would be long past in workflow time.
 */
export async function readyArchiveFixture(
  db: Database,
  request: { id: string; customerId: string },
  userId: string,
): Promise<string> {
  const jobId = randomUUID();
  await createJob(db, {
    id: jobId,
    type: 'export',
    startedBy: userId,
    params: { customerId: request.customerId, requestId: request.id },
    workflowId: `export-${jobId}`,
  });
  const [archive] = await db
    .insert(exportArchives)
    .values({
      customerId: request.customerId,
      requestId: request.id,
      jobId,
      status: 'ready',
      size: 0,
      expiresAt: new Date(Date.now() + 86_400_000),
    })
    .returning({ id: exportArchives.id });
  return archive!.id;
}
