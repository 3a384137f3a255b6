/**
 * Records retention of privacy requests: a closed request is kept for its
 * regulation's retention (CCPA 24 months by default and at least that), then
 * the worker purges it with its clock history, notices and export rows, so
 * nothing said about the person is left but the audit log's IDs and actions.
 * Open requests are never purged, however old.
 */
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLog,
  exportArchives,
  gdprRequests,
  notifications,
  privacyRequestClock,
} from '../../db/schema';
import { loadConfig } from '../../lib/config';
import { eventually, startTestApp, testConfig, uniqueWord, type TestApp } from '../helpers';
import { readyArchiveFixture } from '../exports';

const DAY = 86_400_000;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    worker: true,
    config: testConfig({ PRIVACY_PURGE_INTERVAL: '1s', UK_GDPR_RECORDS_RETENTION_DAYS: '90' }),
  });
});
afterAll(() => t?.close());

interface Request {
  id: string;
  customerId: string;
  workflowId: string;
}

const record = async (body: Record<string, unknown>) =>
  t.create<Request>('/v1/privacy-requests', {
    customerId: (await t.create('/v1/customers', { name: uniqueWord('zqret') })).id,
    ...body,
  });
const act = (id: string, action: string, body: Record<string, unknown> = {}) =>
  t.call('POST', `/v1/privacy-requests/${id}/${action}`, { body });

/** Moves a request's closing back by `days`, as if it had closed then. */
const closedDaysAgo = (id: string, days: number) =>
  t.db
    .update(gdprRequests)
    .set({ closedAt: new Date(Date.now() - days * DAY) })
    .where(eq(gdprRequests.id, id));

describe('records retention', () => {
  it('keeps closed requests for their regulation’s retention, then purges them and all kept with them', async () => {
    const marker = uniqueWord('zqnote');
    // CCPA, delivered, with a clock history, a notice and an export row: 731 days ago.
    const old = await record({ type: 'access', regulation: 'ccpa', reference: `ref-${marker}` });
    expect(
      (await act(old.id, 'pause', { reason: 'awaiting_clarification', note: marker })).statusCode,
    ).toBe(200);
    expect((await act(old.id, 'resume', { note: marker })).statusCode).toBe(200);
    const archiveId = await readyArchiveFixture(t.db, old, t.adminId);
    expect((await act(old.id, 'deliver', { method: 'post', note: marker })).statusCode).toBe(200);
    await t.db.insert(notifications).values({
      userId: t.adminId,
      kind: 'gdpr_reminder',
      gdprRequestId: old.id,
      title: 'Privacy request due in 7 days (access, CCPA)',
      body: `Privacy request ${old.id} (access, CCPA) (reference ref-${marker})`,
    });
    // CCPA, closed 729 days ago: within its 24 months.
    const recent = await record({ type: 'access', regulation: 'ccpa' });
    await readyArchiveFixture(t.db, recent, t.adminId);
    expect((await act(recent.id, 'deliver', { method: 'email' })).statusCode).toBe(200);
    // UK GDPR set to 90 days here: declined 91 days ago, with a note.
    const declined = await record({ regulation: 'uk_gdpr' });
    expect(
      (await act(declined.id, 'decline', { reason: 'legal_claims', note: marker })).statusCode,
    ).toBe(200);
    // Open, received long ago: never purged.
    const open = await record({ regulation: 'uk_gdpr' });

    await closedDaysAgo(old.id, 731);
    await closedDaysAgo(recent.id, 729);
    await closedDaysAgo(declined.id, 91);
    await t.db
      .update(gdprRequests)
      .set({
        createdAt: new Date(Date.now() - 400 * DAY),
        updatedAt: new Date(Date.now() - 400 * DAY),
      })
      .where(eq(gdprRequests.id, open.id));

    const purged = [old.id, declined.id];
    await eventually(
      async () => {
        const left = await t.db
          .select({ id: gdprRequests.id })
          .from(gdprRequests)
          .where(inArray(gdprRequests.id, purged));
        return left.length === 0 ? true : undefined;
      },
      30_000,
      'the worker to purge the requests past their retention',
    );
    expect(
      await t.db
        .select({ id: privacyRequestClock.id })
        .from(privacyRequestClock)
        .where(inArray(privacyRequestClock.requestId, purged)),
    ).toEqual([]);
    expect(
      await t.db
        .select({ id: notifications.id })
        .from(notifications)
        .where(inArray(notifications.gdprRequestId, purged)),
    ).toEqual([]);
    expect(
      await t.db.select().from(exportArchives).where(eq(exportArchives.id, archiveId)),
    ).toEqual([]);
    // Nothing said about the person is left anywhere but in what was kept on purpose.
    const mentions = await t.db.execute<{ n: string }>(sql`
      select (select count(*) from gdpr_requests where reference like ${`%${marker}%`}
                or decline_note like ${`%${marker}%`} or delivery_note like ${`%${marker}%`})
           + (select count(*) from privacy_request_clock where note like ${`%${marker}%`})
           + (select count(*) from notifications where body like ${`%${marker}%`}) as n`);
    expect(Number(mentions.rows[0]!.n)).toBe(0);
    const trail = await t.db
      .select({ objectId: auditLog.objectId, details: auditLog.details })
      .from(auditLog)
      .where(
        sql`${auditLog.action} = 'gdpr_request.purged' and ${inArray(auditLog.objectId, purged)}`,
      );
    expect(trail.map((entry) => entry.objectId).sort()).toEqual([...purged].sort());
    expect(JSON.stringify(trail)).not.toContain(marker);

    const kept = await t.db
      .select({ id: gdprRequests.id })
      .from(gdprRequests)
      .where(inArray(gdprRequests.id, [recent.id, open.id]));
    expect(kept).toHaveLength(2);
  }, 90_000);
});

describe('records retention settings', () => {
  const base = {
    DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    MEILI_URL: 'http://127.0.0.1:7700',
  };
  it('default to 730 days per regulation, each configurable; CCPA never under its 24 months', () => {
    expect(loadConfig(base).privacy.recordsRetentionDays).toEqual({
      gdpr: 730,
      uk_gdpr: 730,
      ccpa: 730,
    });
    expect(
      loadConfig({
        ...base,
        GDPR_RECORDS_RETENTION_DAYS: '365',
        CCPA_RECORDS_RETENTION_DAYS: '1095',
      }).privacy.recordsRetentionDays,
    ).toEqual({ gdpr: 365, uk_gdpr: 730, ccpa: 1095 });
    expect(() => loadConfig({ ...base, CCPA_RECORDS_RETENTION_DAYS: '365' })).toThrow(
      'CCPA_RECORDS_RETENTION_DAYS',
    );
  });
});
