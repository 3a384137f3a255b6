/**
 * Deleting one conversation or one KObject scrubs it from the job records
 * that show it: each merge, split or move preview that named it becomes
 * {"erased": true} and the in-app notifications about those jobs go, while
 * jobs that never named it keep their previews and notifications. The
 * deletion writes its own audit entry with the object's ID and the deletion
 * job's ID. Everything is checked by row ID.
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobs, notifications } from '../../db/schema';
import { createMailer, type Mailer } from '../../notifications/mailer';
import { sendNotice } from '../../notifications/send';
import { type TestApp } from '../helpers';
import { customerWithItems, startJobTestApp, type Job } from '../job-helpers';

let t: TestApp;
let klass: string;
let mailer: Mailer;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
  mailer = createMailer(t.config.smtp);
});
afterAll(async () => {
  mailer.close();
  await t.close();
});

/** Starts a previewed job and returns it awaiting confirmation. */
async function previewed(url: string, body: unknown): Promise<Job> {
  const response = await t.call('POST', url, { body });
  expect(response.statusCode, response.body).toBe(201);
  const job = response.json<{ job: Job }>().job;
  expect(job.status).toBe('awaiting_confirmation');
  return job;
}

/** Cancels a previewed job and tells its starter in-app; returns the notification's row ID. */
async function cancelledWithNotice(path: string, job: Job): Promise<string> {
  const cancelled = await t.call('POST', `/v1/${path}/${job.id}/cancel`);
  expect([200, 202], cancelled.body).toContain(cancelled.statusCode);
  await sendNotice(
    { db: t.db, mailer, publicUrl: t.config.publicUrl },
    { kind: 'job_finished', jobId: job.id, status: 'cancelled' },
  );
  const rows = await t.db
    .select({ id: notifications.id })
    .from(notifications)
    .where(eq(notifications.jobId, job.id));
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

async function previewsOf(ids: string[]): Promise<Record<string, unknown>> {
  const rows = await t.db
    .select({ id: jobs.id, preview: jobs.preview })
    .from(jobs)
    .where(inArray(jobs.id, ids));
  return Object.fromEntries(rows.map((row) => [row.id, row.preview]));
}

async function notificationsAmong(ids: string[]): Promise<string[]> {
  const rows = await t.db
    .select({ id: notifications.id })
    .from(notifications)
    .where(inArray(notifications.id, ids));
  return rows.map((row) => row.id).sort();
}

async function auditOf(objectId: string) {
  return t.db
    .select({
      action: auditLog.action,
      objectType: auditLog.objectType,
      objectId: auditLog.objectId,
      jobId: auditLog.jobId,
      actorUserId: auditLog.actorUserId,
    })
    .from(auditLog)
    .where(eq(auditLog.objectId, objectId));
}

async function deleteObject(path: string, id: string): Promise<Job> {
  const response = await t.call('DELETE', `/v1/${path}/${id}`, { body: { confirm: 'DELETE' } });
  expect(response.statusCode, response.body).toBe(200);
  const job = response.json<{ job: Job }>().job;
  expect(job.status).toBe('completed');
  return job;
}

describe('deleting one conversation or one KObject', () => {
  it('scrubs the previews that named it and their notifications, keeps the others, and audits it under its job', async () => {
    const source = await customerWithItems(t, {
      name: 'Scrub Source',
      klass,
      conversations: 2,
      kobjects: 2,
    });
    const target = await t.create('/v1/customers', { name: 'Scrub Target' });
    const other = await t.create('/v1/customers', { name: 'Scrub Other' });
    const [c1, c2] = source.conversationIds as [string, string];
    const [k1, k2] = source.kobjectIds as [string, string];

    // Left awaiting confirmation: names c1, c2, k1 and k2.
    const merge = await previewed('/v1/merges', {
      sourceCustomerId: source.id,
      targetCustomerId: other.id,
    });
    const splitOfC1 = await previewed('/v1/splits', {
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      conversationIds: [c1],
    });
    const splitOfC2 = await previewed('/v1/splits', {
      sourceCustomerId: source.id,
      targetCustomerId: target.id,
      conversationIds: [c2],
    });
    const moveOfK1 = await previewed('/v1/kobject-moves', {
      kobjectIds: [k1],
      targetCustomerId: target.id,
    });
    const moveOfK2 = await previewed('/v1/kobject-moves', {
      kobjectIds: [k2],
      targetCustomerId: target.id,
    });
    const notice = {
      splitOfC1: await cancelledWithNotice('splits', splitOfC1),
      splitOfC2: await cancelledWithNotice('splits', splitOfC2),
      moveOfK1: await cancelledWithNotice('kobject-moves', moveOfK1),
      moveOfK2: await cancelledWithNotice('kobject-moves', moveOfK2),
    };
    const allJobs = [merge, splitOfC1, splitOfC2, moveOfK1, moveOfK2].map((job) => job.id);
    const before = await previewsOf(allJobs);
    for (const id of allJobs) expect(before[id]).not.toEqual({ erased: true });
    expect(JSON.stringify(before[merge.id])).toContain(c1);
    expect(JSON.stringify(before[splitOfC1.id])).toContain(c1);
    expect(JSON.stringify(before[moveOfK1.id])).toContain(k1);

    const conversationDeletion = await deleteObject('conversations', c1);
    expect(await previewsOf(allJobs)).toEqual({
      ...before,
      [merge.id]: { erased: true },
      [splitOfC1.id]: { erased: true },
    });
    expect(await notificationsAmong(Object.values(notice))).toEqual(
      [notice.splitOfC2, notice.moveOfK1, notice.moveOfK2].sort(),
    );
    expect(await auditOf(c1)).toEqual([
      {
        action: 'conversation.deleted',
        objectType: 'conversation',
        objectId: c1,
        jobId: conversationDeletion.id,
        actorUserId: t.adminId,
      },
    ]);
    // The API shows the scrubbed preview; the job's parameters (IDs only) stay.
    const shown = (await t.call('GET', `/v1/jobs/${splitOfC1.id}`)).json<Job>();
    expect(shown.preview).toEqual({ erased: true });
    expect(shown.params).toMatchObject({ conversationIds: [c1] });

    const kobjectDeletion = await deleteObject('kobjects', k1);
    expect(await previewsOf(allJobs)).toEqual({
      ...before,
      [merge.id]: { erased: true },
      [splitOfC1.id]: { erased: true },
      [moveOfK1.id]: { erased: true },
    });
    expect(await notificationsAmong(Object.values(notice))).toEqual(
      [notice.splitOfC2, notice.moveOfK2].sort(),
    );
    expect(await auditOf(k1)).toEqual([
      {
        action: 'kobject.deleted',
        objectType: 'kobject',
        objectId: k1,
        jobId: kobjectDeletion.id,
        actorUserId: t.adminId,
      },
    ]);
    // Nothing else was deleted or audited on the way.
    expect(await auditOf(c2)).toEqual([]);
    expect(await auditOf(k2)).toEqual([]);
    expect((await t.call('GET', `/v1/conversations/${c2}`)).statusCode).toBe(200);
    expect((await t.call('GET', `/v1/kobjects/${k2}`)).statusCode).toBe(200);
  }, 60_000);
});
