import type { Queryable } from '../db/client';
import { claimOutcomeTelling } from '../db/queries/job-rows';
import { addInAppNotification, recordDelivery, wasDelivered } from '../db/queries/notifications';
import type { Notice, NoticeResult } from '../workflows/contracts';
import type { Mailer } from './mailer';
import { noticeEmail } from './email';
import { renderNotice, type NoticeLinks } from './notices';

export interface NotifyDeps extends NoticeLinks {
  db: Queryable;
  mailer: Mailer;
}

/**
 * Tells every recipient of `notice` through the channels their settings
 * switch on. Safe to call again with the same notice: an in-app notification
 * is added once per recipient (its delivery record commits with it), and an
 * email already recorded as sent is not sent again. An email whose sending
 * succeeded but whose record did not commit (a crash in between) is sent
 * again on retry: email is at-least-once.
 */
export async function sendNotice(
  { db, mailer, ...links }: NotifyDeps,
  notice: Notice,
): Promise<NoticeResult> {
  const result: NoticeResult = { recipients: 0, inApp: 0, emails: 0 };
  // The request that waited for the job told its outcome: no news to send.
  if (
    notice.kind === 'job_finished' &&
    notice.unlessReplied &&
    !(await claimOutcomeTelling(db, notice.jobId, 'notice'))
  )
    return result;
  const rendered = await renderNotice(db, notice, links);
  if (!rendered) return result;
  const failures: unknown[] = [];
  for (const recipient of rendered.recipients) {
    const wants = recipient.settings[rendered.category];
    if (!wants.email && !wants.inApp) continue;
    result.recipients += 1;
    if (wants.inApp) {
      const added = await addInAppNotification(db, rendered.key, {
        userId: recipient.id,
        kind: notice.kind,
        jobId: rendered.jobId,
        gdprRequestId: rendered.gdprRequestId,
        title: rendered.title,
        body: rendered.body,
      });
      if (added) result.inApp += 1;
    }
    if (wants.email && !(await wasDelivered(db, rendered.key, recipient.id, 'email'))) {
      try {
        await mailer.send({ to: recipient.email, ...noticeEmail(rendered) });
        await recordDelivery(db, rendered.key, recipient.id, 'email');
        result.emails += 1;
      } catch (error) {
        // The others still get theirs; the caller's retry resends only what is missing.
        failures.push(error);
      }
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} notice email(s) could not be sent`);
  }
  return result;
}
