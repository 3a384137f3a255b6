import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Notice } from './contracts';
import { retries } from './retry-policies';

const { sendNotice } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: retries.notice,
});

/**
 * Sends a notice through the notification machinery with bounded retries.
 * A notice that cannot be delivered is logged and never fails the caller.
 */
export async function notify(notice: Notice): Promise<boolean> {
  try {
    await sendNotice(notice);
    return true;
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    log.warn('notice not delivered', { kind: notice.kind });
    return false;
  }
}
