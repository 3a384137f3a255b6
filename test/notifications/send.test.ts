import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimOutcomeTelling, createJob } from '../../db/queries/job-rows';
import { updateNotificationSettings } from '../../db/queries/notifications';
import { getUser } from '../../db/queries/users';
import { jobs, notifications, savedSearches } from '../../db/schema';
import { createMailer, type Mailer } from '../../notifications/mailer';
import { sendNotice } from '../../notifications/send';
import { eventually, inboxOf, startTestApp, userWithKey, type TestApp } from '../helpers';

let t: TestApp;
let mailer: Mailer;
beforeAll(async () => {
  t = await startTestApp();
  mailer = createMailer(t.config.smtp);
});
afterAll(async () => {
  mailer.close();
  await t.close();
});

async function finishedJob(
  startedBy: string,
  params: Record<string, unknown> = { entity: 'customer', ids: [] },
) {
  const id = randomUUID();
  await createJob(t.db, {
    id,
    type: 'bulk_delete',
    startedBy,
    params,
    workflowId: `bulk-delete-${id}`,
  });
  await t.db
    .update(jobs)
    .set({
      status: 'completed',
      progressTotal: 12,
      progressDone: 11,
      progressFailed: 1,
      result: { counts: { customers: 11 } },
    })
    .where(eq(jobs.id, id));
  return id;
}

const inAppOf = (userId: string) =>
  t.db.select().from(notifications).where(eq(notifications.userId, userId));

describe('sending a job notice', () => {
  it("tells the job's starter in-app and by email, once: what ran, the outcome in words, who, when and links that open", async () => {
    const user = await userWithKey(t.db);
    const { email, name } = await getUser(t.db, user.id);
    const [saved] = await t.db
      .insert(savedSearches)
      .values({ ownerId: user.id, name: 'Drillset', index: 'customers', query: 'drill' })
      .returning();
    const jobId = await finishedJob(user.id, { entity: 'customer', savedSearchId: saved!.id });
    const deps = {
      db: t.db,
      mailer,
      publicUrl: 'https://custodian.example',
      temporalUi: { url: 'https://temporal.example', namespace: 'prod' },
    };
    const notice = { kind: 'job_finished', jobId, status: 'completed' } as const;

    expect(await sendNotice(deps, notice)).toEqual({ recipients: 1, inApp: 1, emails: 1 });
    // A retried activity delivers nothing twice.
    expect(await sendNotice(deps, notice)).toEqual({ recipients: 1, inApp: 0, emails: 0 });

    const title = "Bulk erasure of 12 customers matching saved search 'Drillset' completed";
    const outcome =
      "11 of 12 customers were erased. 1 customer could not be erased; the job's items say why.";
    const [inApp, ...more] = await inAppOf(user.id);
    expect(more).toHaveLength(0);
    expect(inApp).toMatchObject({ kind: 'job_finished', jobId, readAt: null, title });
    // In-app says what the email says.
    expect(inApp!.body).toContain(`Outcome: ${outcome}`);
    expect(inApp!.body).toContain(`Started by: ${name}`);

    const [mail, ...moreMail] = await eventually(async () => {
      const found = await inboxOf(email);
      return found.length > 0 ? found : undefined;
    });
    expect(moreMail).toHaveLength(0);
    expect(mail!.subject).toBe(`[Custodian] ${title}`);
    expect(mail!.text).toContain(`Outcome: ${outcome}`);
    expect(mail!.text).toMatch(/Started: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(mail!.text).toContain(
      `Temporal UI (admins): https://temporal.example/namespaces/prod/workflows/bulk-delete-${jobId}`,
    );
    expect(mail!.text).toContain(`https://custodian.example/v1/jobs/${jobId}`);
    // Internal counters are not news.
    expect(mail!.text).not.toMatch(/customers: 11|alreadyDeleted|searchesRemoved/);
    // Multipart: the HTML alternative says the same, escaped.
    expect(mail!.html).toContain(
      'Bulk erasure of 12 customers matching saved search &#39;Drillset&#39; completed',
    );
    expect(mail!.html).toContain(`href="https://custodian.example/v1/jobs/${jobId}"`);
  });

  it('uses only the channels the settings leave on', async () => {
    const deps = { db: t.db, mailer, publicUrl: 'http://127.0.0.1:3000' };
    const emailOnly = await userWithKey(t.db);
    const inAppOnly = await userWithKey(t.db);
    const neither = await userWithKey(t.db);
    await updateNotificationSettings(t.db, emailOnly.id, { bulkJobCompleted: { inApp: false } });
    await updateNotificationSettings(t.db, inAppOnly.id, { bulkJobCompleted: { email: false } });
    await updateNotificationSettings(t.db, neither.id, {
      bulkJobCompleted: { email: false, inApp: false },
    });
    // Switching off another kind of notice changes nothing here.
    await updateNotificationSettings(t.db, emailOnly.id, { gdprDeadlines: { email: false } });

    for (const user of [emailOnly, inAppOnly, neither]) {
      const jobId = await finishedJob(user.id);
      await sendNotice(deps, { kind: 'job_finished', jobId, status: 'completed' });
    }
    expect(await inAppOf(emailOnly.id)).toHaveLength(0);
    expect(await inAppOf(inAppOnly.id)).toHaveLength(1);
    expect(await inAppOf(neither.id)).toHaveLength(0);

    const address = async (id: string) => (await getUser(t.db, id)).email;
    await eventually(async () =>
      (await inboxOf(await address(emailOnly.id))).length === 1 ? true : undefined,
    );
    expect(await inboxOf(await address(inAppOnly.id))).toHaveLength(0);
    expect(await inboxOf(await address(neither.id))).toHaveLength(0);
  });

  it('fails when SMTP is unreachable, after recording the in-app part, and a retry sends only the email', async () => {
    const user = await userWithKey(t.db);
    const jobId = await finishedJob(user.id);
    const notice = { kind: 'job_finished', jobId, status: 'failed' } as const;
    const broken = createMailer({ url: 'smtp://127.0.0.1:9', from: 'x@localhost' });
    try {
      await expect(
        sendNotice({ db: t.db, mailer: broken, publicUrl: 'http://x' }, notice),
      ).rejects.toThrow('could not be sent');
    } finally {
      broken.close();
    }
    expect(await inAppOf(user.id)).toHaveLength(1);
    expect(await sendNotice({ db: t.db, mailer, publicUrl: 'http://x' }, notice)).toEqual({
      recipients: 1,
      inApp: 0,
      emails: 1,
    });
    expect(await inAppOf(user.id)).toHaveLength(1);
    const deliveries = await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from notification_deliveries where notice_key = ${`job:${jobId}:failed`}`,
    );
    expect(deliveries.rows[0]!.n).toBe(2);
  });

  it('sends nothing for a job that does not exist', async () => {
    expect(
      await sendNotice(
        { db: t.db, mailer, publicUrl: 'http://x' },
        { kind: 'job_finished', jobId: randomUUID(), status: 'completed' },
      ),
    ).toEqual({ recipients: 0, inApp: 0, emails: 0 });
  });
  it('tells an outcome once when the waiting reply and the notice race for it', async () => {
    const deps = { db: t.db, mailer, publicUrl: 'https://custodian.example' };
    const user = await userWithKey(t.db);
    const replied = await finishedJob(user.id);
    const noticed = await finishedJob(user.id);
    // The reply to the request claimed the first job's outcome; nobody claimed the second's yet.
    expect(await claimOutcomeTelling(t.db, replied, 'reply')).toBe(true);
    for (const jobId of [replied, noticed]) {
      await sendNotice(deps, {
        kind: 'job_finished',
        jobId,
        status: 'completed',
        unlessReplied: true,
      });
    }
    expect((await inAppOf(user.id)).map((n) => n.jobId)).toEqual([noticed]);
    // The notice told the second: a late reply may not tell it again (it answers 202).
    expect(await claimOutcomeTelling(t.db, noticed, 'reply')).toBe(false);

    // Claimed at once from both sides, one kind of teller wins every claim.
    const raced = await finishedJob(user.id);
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        claimOutcomeTelling(t.db, raced, i % 2 === 0 ? 'reply' : 'notice').then((won) => ({
          teller: i % 2 === 0 ? 'reply' : 'notice',
          won,
        })),
      ),
    );
    const winners = new Set(claims.filter((c) => c.won).map((c) => c.teller));
    expect(winners.size).toBe(1);
    expect(claims.filter((c) => c.won)).toHaveLength(10);
  });
});
