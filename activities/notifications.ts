import { sendNotice } from '../notifications/send';
import type { Notice } from '../workflows/contracts';
import type { ActivityDeps } from './index';

export function notificationActivities({ db, mailer, config }: ActivityDeps) {
  return {
    /**
     * Tells a notice's recipients in-app and by email as their settings say.
     * In-app once per recipient; email at-least-once. A failed email throws so
     * Temporal retries, and the retry sends only what is still missing.
     */
    async sendNotice(notice: Notice) {
      return sendNotice(
        {
          db,
          mailer,
          publicUrl: config.publicUrl,
          temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
        },
        notice,
      );
    },
  };
}
