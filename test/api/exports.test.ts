/**
 * Customer exports: the archive holds every record of the customer and
 * nothing of another, its counts are the database's, the download is audited
 * and refused after the expiry, an erasure removes the archive, and the
 * workflow's history holds none of the customer's data.
 */
import { and, eq, sql } from 'drizzle-orm';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, exportArchiveChunks, exportArchives, notifications } from '../../db/schema';
import {
  decodedHistory,
  defineAttributes,
  eventually,
  problemOf,
  startTestApp,
  testConfig,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { jobWhenFinished, startJobTestApp, type Job } from '../job-helpers';
import { parseCsv, unzip } from '../exports';

interface ExportView {
  id: string;
  customerId: string;
  requestId: string | null;
  jobId: string;
  status: string;
  counts: Record<string, number>;
  size: number | null;
  sha256: string | null;
  expiresAt: string;
  downloadUrl: string;
}

let t: TestApp;
let klass: string;

beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
  await defineAttributes(t, 'customer', { exportnote: 'text' });
});

afterAll(async () => {
  await t?.close();
});

const MESSAGES = 1_100;
const EVENTS = 2_500;

/** A customer whose every record carries `word`, with more messages and events than one page. */
async function markedCustomer(word: string) {
  const customer = await t.create('/v1/customers', {
    name: `Person ${word}`,
    emails: [{ address: `${word}@example.org` }],
    phones: [{ number: '+44 20 7946 0958' }],
    socialHandles: [{ network: 'mastodon', handle: `@${word}` }],
    websites: [`https://${word}.example.org`],
    externalId: `ext-${word}`,
    customAttributes: { exportnote: `note ${word}` },
  });
  const conversation = await t.create(`/v1/customers/${customer.id}/conversations`, {
    channel: 'email',
    subject: `Subject ${word}`,
    messages: [{ direction: 'inbound', body: `He said "hi, ${word}"\nthen =SUM(A1)` }],
  });
  await t.db.execute(sql`
    insert into messages (conversation_id, direction, body, sent_at)
    select ${conversation.id}, 'outbound', 'Bulk ' || ${word} || ' ' || g, now() - g * interval '1 second'
    from generate_series(2, ${MESSAGES}) g`);
  await t.create(`/v1/customers/${customer.id}/kobjects`, {
    klass,
    title: `Order ${word}`,
    data: { note: `data ${word}` },
  });
  await t.db.execute(sql`
    insert into engagement_events (customer_id, type, occurred_at, properties)
    select ${customer.id}, 'page_view', now() - (g % 50) * interval '1 minute',
      jsonb_build_object('url', 'https://' || ${word} || '.example.org/' || g)
    from generate_series(1, ${EVENTS}) g`);
  const mergedAway = randomUUID();
  await t.db.execute(sql`
    insert into merge_redirects (source_customer_id, target_customer_id)
    values (${mergedAway}, ${customer.id})`);
  const request = await t.create<{ id: string }>('/v1/gdpr-requests', {
    customerId: customer.id,
    reference: `ticket-${word}`,
  });
  return { id: customer.id, conversationId: conversation.id, mergedAway, requestId: request.id };
}

async function startExport(customerId: string, body: unknown = {}, key?: string) {
  const response = await t.call('POST', `/v1/customers/${customerId}/exports`, {
    body,
    ...(key ? { key } : {}),
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json<{ job: Job; export: ExportView }>();
}

async function readyExport(customerId: string, body: unknown = {}) {
  const started = await startExport(customerId, body);
  const job = await jobWhenFinished(t, started.job.id, 60_000);
  expect(job.status, JSON.stringify(job.error)).toBe('completed');
  return { job, exportId: started.export.id };
}

async function download(exportId: string, key?: string) {
  return t.call('GET', `/v1/exports/${exportId}/download`, key ? { key } : {});
}

const count = async (query: ReturnType<typeof sql>) =>
  Number((await t.db.execute<{ n: string }>(query)).rows[0]!.n);

describe('customer exports', () => {
  it('holds every record of the customer, counted as the database counts them, and nothing of another', async () => {
    const word = uniqueWord('zqex');
    const other = uniqueWord('zqot');
    const mine = await markedCustomer(word);
    const theirs = await markedCustomer(other);

    const started = await startExport(mine.id, { requestId: mine.requestId });
    expect(started.job).toMatchObject({
      type: 'export',
      workflowId: `export-${started.job.id}`,
      params: { customerId: mine.id, requestId: mine.requestId },
    });
    const job = await jobWhenFinished(t, started.job.id, 60_000);
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.progress).toEqual({ total: 10, done: 10, failed: 0 });

    const view = (await t.call('GET', `/v1/exports/${started.export.id}`)).json<ExportView>();
    expect(view.status).toBe('ready');
    const expected = {
      profile: 1,
      attributes: 1,
      contact_points: 4,
      conversations: 1,
      messages: MESSAGES,
      kobjects: 1,
      events: EVENTS,
      merged_customers: 1,
      privacy_requests: 1,
      audit: await count(sql`
        select count(*) as n from audit_log where
          (object_type = 'customer' and object_id in (${mine.id}::uuid, ${mine.mergedAway}::uuid))
          or (object_type = 'conversation' and object_id = ${mine.conversationId})
          or (object_type = 'kobject' and object_id in (select id from kobjects where customer_id = ${mine.id}))
          or (object_type = 'gdpr_request' and object_id = ${mine.requestId})`),
    };
    expect(expected.audit).toBeGreaterThan(0);
    expect(view.counts).toEqual(expected);
    expect(job.result?.counts).toEqual(expected);
    expect(
      await count(sql`select count(*) as n from messages m join conversations c
        on c.id = m.conversation_id where c.customer_id = ${mine.id}`),
    ).toBe(expected.messages);
    expect(
      await count(sql`select count(*) as n from engagement_events where customer_id = ${mine.id}`),
    ).toBe(expected.events);

    const response = await download(started.export.id);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="custodian-export-${mine.id}-${started.export.id}.zip"`,
    );
    const archive = response.rawPayload;
    expect(archive.length).toBe(view.size);
    expect(createHash('sha256').update(archive).digest('hex')).toBe(view.sha256);
    // More than one stored chunk would need more than 1 MiB; the chunks add up to the archive.
    expect(
      await count(sql`select coalesce(sum(length(data)), 0) as n from export_archive_chunks
        where archive_id = ${started.export.id}`),
    ).toBe(archive.length);

    const files = unzip(archive);
    const all = [...files.values()].join('\n');
    expect(all).not.toContain(other);
    expect(all).not.toContain(theirs.id);
    const manifest = JSON.parse(files.get('manifest.json')!) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      format: 'custodian-customer-export',
      formatVersion: 1,
      exportId: started.export.id,
      customerId: mine.id,
      requestId: mine.requestId,
      jobId: started.job.id,
      counts: expected,
    });
    const kinds = Object.keys(expected);
    expect([...files.keys()].sort()).toEqual(
      [
        'manifest.json',
        'profile.json',
        'attributes.json',
        'contact_points.json',
        'conversations.json',
        'messages.jsonl',
        'kobjects.json',
        'events.jsonl',
        'merged_customers.json',
        'privacy_requests.json',
        'audit.jsonl',
        ...kinds.map((kind) => `csv/${kind}.csv`),
      ].sort(),
    );

    const profile = JSON.parse(files.get('profile.json')!) as Record<string, unknown>;
    expect(profile).toMatchObject({
      id: mine.id,
      name: `Person ${word}`,
      externalId: `ext-${word}`,
      customAttributes: { exportnote: `note ${word}` },
    });
    expect(JSON.parse(files.get('attributes.json')!)).toEqual([
      { name: 'exportnote', value: `note ${word}` },
    ]);
    const points = JSON.parse(files.get('contact_points.json')!) as {
      kind: string;
      value: string;
    }[];
    expect(points.map((p) => [p.kind, p.value])).toEqual([
      ['email', `${word}@example.org`],
      ['phone', '+44 20 7946 0958'],
      ['social', `@${word}`],
      ['website', `https://${word}.example.org`],
    ]);
    expect(files.get('conversations.json')).toContain(`Subject ${word}`);
    expect(files.get('kobjects.json')).toContain(`data ${word}`);
    const lines = (name: string) =>
      files
        .get(name)!
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const messages = lines('messages.jsonl');
    expect(messages).toHaveLength(MESSAGES);
    expect(new Set(messages.map((m) => m.id)).size).toBe(MESSAGES);
    expect(messages.map((m) => m.body)).toContain(`He said "hi, ${word}"\nthen =SUM(A1)`);
    const events = lines('events.jsonl');
    expect(new Set(events.map((e) => e.id)).size).toBe(EVENTS);
    expect(events.every((e) => JSON.stringify(e.properties).includes(word))).toBe(true);
    expect(lines('audit.jsonl').every((entry) => !('details' in entry))).toBe(true);
    expect(JSON.parse(files.get('merged_customers.json')!)).toMatchObject([
      { customerId: mine.mergedAway },
    ]);
    expect(JSON.parse(files.get('privacy_requests.json')!)).toMatchObject([
      { id: mine.requestId, reference: `ticket-${word}` },
    ]);

    // The CSV quotes what needs it and defuses formulas; it has a row per record.
    const csv = parseCsv(files.get('csv/messages.csv')!);
    expect(csv[0]).toEqual(['id', 'conversationId', 'direction', 'body', 'sentAt']);
    expect(csv).toHaveLength(MESSAGES + 1);
    expect(csv.map((row) => row[3])).toContain(`He said "hi, ${word}"\nthen =SUM(A1)`);
    for (const kind of kinds) {
      expect(parseCsv(files.get(`csv/${kind}.csv`)!).length - 1, kind).toBe(
        expected[kind as 'audit'],
      );
    }

    // The download is an audit entry; the starter was told it is ready, with a link to it.
    const downloads = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'export.downloaded'), eq(auditLog.objectId, mine.id)));
    expect(downloads).toHaveLength(1);
    expect(downloads[0]).toMatchObject({ actorUserId: t.adminId, jobId: started.job.id });
    const told = await eventually(async () => {
      const rows = await t.db
        .select()
        .from(notifications)
        .where(eq(notifications.jobId, started.job.id));
      return rows.length > 0 ? rows : undefined;
    });
    // An export for a request is news for every handler of privacy requests.
    expect(told[0]!.title).toBe('Export ready for privacy request (erasure, GDPR)');
    expect(told[0]!.body).not.toContain(word);

    // No personal data in Temporal.
    const history = await decodedHistory(t.temporal, started.job.workflowId);
    expect(history).toContain(started.export.id);
    for (const marker of [word, '+44 20 7946 0958', 'SUM(A1)'])
      expect(history).not.toContain(marker);
  }, 120_000);

  it('answers 410 EXPORT_EXPIRED after the expiry, and 409 while the archive is built', async () => {
    const customer = await t.create('/v1/customers', { name: uniqueWord('Expiring ') });
    const { exportId } = await readyExport(customer.id);
    await t.db
      .update(exportArchives)
      .set({ status: 'building' })
      .where(eq(exportArchives.id, exportId));
    const building = await download(exportId);
    expect(building.statusCode).toBe(409);
    expect(problemOf(building).code).toBe('EXPORT_NOT_READY');
    await t.db
      .update(exportArchives)
      .set({ status: 'ready', expiresAt: sql`now() - interval '1 second'` })
      .where(eq(exportArchives.id, exportId));
    const late = await download(exportId);
    expect(late.statusCode).toBe(410);
    expect(problemOf(late).code).toBe('EXPORT_EXPIRED');
    expect((await t.call('GET', `/v1/exports/${exportId}`)).json<ExportView>().status).toBe(
      'expired',
    );
    const downloads = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'export.downloaded'), eq(auditLog.objectId, customer.id)));
    expect(downloads).toHaveLength(0);
  });

  it('deletes the archive at its expiry (durable timer)', async () => {
    const short = await startTestApp({ worker: true, config: testConfig({ EXPORT_TTL: '2s' }) });
    try {
      const customer = await short.create('/v1/customers', { name: uniqueWord('Short ') });
      const started = await short.call('POST', `/v1/customers/${customer.id}/exports`, {
        body: {},
      });
      expect(started.statusCode, started.body).toBe(202);
      const { export: archive } = started.json<{ export: ExportView }>();
      const expired = await eventually(async () => {
        const [row] = await short.db
          .select()
          .from(exportArchives)
          .where(eq(exportArchives.id, archive.id));
        return row?.status === 'expired' ? row : undefined;
      }, 30_000);
      expect(expired.counts).toMatchObject({ profile: 1 });
      const chunks = await short.db
        .select({ seq: exportArchiveChunks.seq })
        .from(exportArchiveChunks)
        .where(eq(exportArchiveChunks.archiveId, archive.id));
      expect(chunks).toEqual([]);
      expect((await short.call('GET', `/v1/exports/${archive.id}/download`)).statusCode).toBe(410);
    } finally {
      await short.close();
    }
  }, 60_000);

  it('an erasure of the customer removes its archive, and says so in the erasure record', async () => {
    const customer = await t.create('/v1/customers', { name: uniqueWord('Erased ') });
    const { exportId } = await readyExport(customer.id);
    const erased = await t.call('DELETE', `/v1/customers/${customer.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    expect(erased.json<{ job: Job }>().job.result?.counts).toMatchObject({
      customers: 1,
      exportArchives: 1,
    });
    expect(await t.db.select().from(exportArchives).where(eq(exportArchives.id, exportId))).toEqual(
      [],
    );
    expect(
      await count(
        sql`select count(*) as n from export_archive_chunks where archive_id = ${exportId}`,
      ),
    ).toBe(0);
    expect((await t.call('GET', `/v1/exports/${exportId}`)).statusCode).toBe(404);
    expect((await download(exportId)).statusCode).toBe(404);
  }, 60_000);

  it('checks permissions, the customer and the request', async () => {
    const customer = await t.create('/v1/customers', { name: uniqueWord('Guarded ') });
    const other = await t.create('/v1/customers', { name: uniqueWord('Other ') });
    const request = await t.create<{ id: string }>('/v1/gdpr-requests', { customerId: other.id });
    const gdprOnly = await userWithKey(t.db, { permissions: ['gdpr.manage'] });
    const readerOnly = await userWithKey(t.db, { permissions: ['customers.read'] });
    const handler = await userWithKey(t.db, { permissions: ['gdpr.manage', 'customers.read'] });

    const url = `/v1/customers/${customer.id}/exports`;
    expect((await t.call('POST', url, { key: gdprOnly.key, body: {} })).statusCode).toBe(403);
    expect((await t.call('POST', url, { key: readerOnly.key, body: {} })).statusCode).toBe(403);
    const mismatch = await t.call('POST', url, { body: { requestId: request.id } });
    expect(mismatch.statusCode).toBe(422);
    expect(problemOf(mismatch).code).toBe('EXPORT_REQUEST_MISMATCH');
    const unknownRequest = await t.call('POST', url, { body: { requestId: randomUUID() } });
    expect(problemOf(unknownRequest).code).toBe('GDPR_REQUEST_NOT_FOUND');
    const unknown = await t.call('POST', `/v1/customers/${randomUUID()}/exports`, { body: {} });
    expect(unknown.statusCode).toBe(404);
    expect(problemOf(unknown).code).toBe('CUSTOMER_NOT_FOUND');
    expect(
      await count(
        sql`select count(*) as n from export_archives where customer_id = ${customer.id}`,
      ),
    ).toBe(0);

    const started = await startExport(customer.id, {}, handler.key);
    await jobWhenFinished(t, started.job.id, 60_000);
    expect((await download(started.export.id, readerOnly.key)).statusCode).toBe(403);
    expect((await download(started.export.id, gdprOnly.key)).statusCode).toBe(200);
  }, 60_000);

  it('takes dozens of export starts at once, across customers and with repeated keys', async () => {
    const customers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.create('/v1/customers', { name: `Parallel ${i}` })),
    );
    const starts = customers.flatMap((customer, i) =>
      Array.from({ length: 4 }, (_, j) =>
        t.call('POST', `/v1/customers/${customer.id}/exports`, {
          body: {},
          // Two of each customer's four starts share a key: they are one job.
          headers: { 'idempotency-key': `parallel-${i}-${j < 2 ? 'same' : j}-${customers[0]!.id}` },
        }),
      ),
    );
    const responses = await Promise.all(starts);
    for (const response of responses) expect(response.statusCode, response.body).toBe(202);
    const bodies = responses.map((r) => r.json<{ job: Job; export: ExportView }>());
    const jobIds = new Set(bodies.map((b) => b.job.id));
    expect(jobIds.size).toBe(customers.length * 3);
    const exportIds = new Set(bodies.map((b) => b.export.id));
    expect(exportIds.size).toBe(jobIds.size);
    const finished = await Promise.all([...jobIds].map((id) => jobWhenFinished(t, id, 90_000)));
    expect(finished.map((job) => job.status)).toEqual(finished.map(() => 'completed'));
    for (const customer of customers) {
      const rows = await t.db
        .select()
        .from(exportArchives)
        .where(eq(exportArchives.customerId, customer.id));
      expect(rows.map((row) => [row.status, row.counts.profile])).toEqual([
        ['ready', 1],
        ['ready', 1],
        ['ready', 1],
      ]);
    }
  }, 120_000);
});

describe('exports of access requests', () => {
  it('exports the request’s customer for an access request, refuses an erasure request, and the delivery completes it', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: uniqueWord('zqacc') });
    const access = await t.create<{ id: string }>('/v1/privacy-requests', {
      customerId: customer.id,
      type: 'access',
      regulation: 'uk_gdpr',
    });
    const started = await t.call('POST', `/v1/privacy-requests/${access.id}/export`);
    expect(started.statusCode, started.body).toBe(202);
    const { job, export: view } = started.json<{ job: Job; export: ExportView }>();
    expect(job.params).toMatchObject({ customerId: customer.id, requestId: access.id });
    expect((await jobWhenFinished(t, job.id, 60_000)).status).toBe('completed');
    const archive = await download(view.id);
    expect(archive.statusCode).toBe(200);
    const manifest = JSON.parse(unzip(archive.rawPayload).get('manifest.json')!) as object;
    expect(manifest).toMatchObject({ customerId: customer.id, requestId: access.id });

    const erasure = await t.create<{ id: string }>('/v1/privacy-requests', {
      customerId: customer.id,
    });
    const refused = await t.call('POST', `/v1/privacy-requests/${erasure.id}/export`);
    expect(problemOf(refused)).toMatchObject({ status: 409, code: 'WRONG_REQUEST_TYPE' });

    const delivered = await t.call('POST', `/v1/privacy-requests/${access.id}/deliver`, {
      body: { method: 'portal' },
    });
    expect(delivered.json()).toMatchObject({ status: 'completed', delivery: { method: 'portal' } });
    const closed = await t.call('POST', `/v1/privacy-requests/${access.id}/export`);
    expect(problemOf(closed)).toMatchObject({ status: 409, code: 'REQUEST_CLOSED' });
  }, 90_000);
});
