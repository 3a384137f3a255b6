import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Notice } from './contracts';

// SMTP may be down for a while; a few minutes of retries, then the notice is given up.
const { sendNotice } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 8,
  },
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
