/**
 * The worker's webhook dispatcher: delivers the deliveries the outbox queued.
 * Durability lives in Postgres, not in this process: a delivery stays
 * `pending` until an attempt is recorded, and an endpoint's lease expires if
 * its worker dies, so another worker (or this one restarted) sends it again —
 * at least once. One lease per endpoint means one POST at a time per
 * endpoint, in `seq` order; different endpoints go in parallel, so a slow
 * receiver holds up only itself. Nothing here runs inside a job, so delivery
 * can neither slow nor fail the job that caused an event.
 */
import pg from 'pg';
import type { Database } from '../db/client';
import {
  claimWebhookEndpoint,
  nextDueDelivery,
  recordWebhookAttempt,
  releaseWebhookEndpoint,
  signingSecrets,
  WEBHOOK_QUEUED_CHANNEL,
  type AttemptOutcome,
  type DeliveryPolicy,
} from '../db/queries/webhooks';
import { backoffMs, signatureHeader } from '../domain/webhooks';
import type { Config } from '../lib/config';

export interface WebhookDispatcher {
  /** Resolves once every endpoint in flight has finished its current POST. */
  stop(): Promise<void>;
}

/** POSTs one body; never throws: a failure is an outcome with its class. */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Custodian-Webhooks/1',
        ...headers,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not read into anything kept; draining it frees the connection.
    await response.arrayBuffer().catch(() => undefined);
    return {
      statusCode: response.status,
      durationMs: Math.round(performance.now() - started),
      errorClass: response.ok ? null : 'http_status',
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    return {
      statusCode: null,
      durationMs: Math.round(performance.now() - started),
      errorClass: name === 'TimeoutError' ? 'timeout' : 'connection',
    };
  }
}

export function startWebhookDispatcher({
  db,
  databaseUrl,
  config,
  log = () => undefined,
}: {
  db: Database;
  /** For LISTEN, so queued deliveries go out at once instead of at the next poll. */
  databaseUrl?: string;
  config: Config['webhooks'];
  log?: (message: string, error?: unknown) => void;
}): WebhookDispatcher {
  const leaseMs = config.timeoutMs + 30_000;
  const policy: DeliveryPolicy = {
    maxAgeMs: config.maxAgeMs,
    breakerThreshold: config.breakerThreshold,
    retryDelayMs: (attempts) => backoffMs(attempts, config.backoffBaseMs),
  };
  const active = new Map<string, Promise<void>>();
  let stopped = false;
  let wake: () => void = () => undefined;

  async function drainEndpoint(endpointId: string): Promise<void> {
    try {
      for (;;) {
        if (stopped) return;
        const next = await nextDueDelivery(db, endpointId, leaseMs);
        if (!next) return;
        const { endpoint, delivery, event } = next;
        const body = JSON.stringify({
          id: event.id,
          type: event.type,
          occurredAt: event.occurredAt.toISOString(),
          data: event.payload,
        });
        const t = Math.floor(Date.now() / 1000);
        const outcome = await postWebhook(
          endpoint.url,
          {
            'custodian-event-id': event.id,
            'custodian-event-type': event.type,
            'custodian-delivery-id': delivery.id,
            'custodian-signature': signatureHeader(signingSecrets(endpoint), body, t),
          },
          body,
          config.timeoutMs,
        );
        const { paused } = await recordWebhookAttempt(db, delivery, outcome, policy);
        if (paused) log(`endpoint ${endpointId} paused after ${config.breakerThreshold} failures`);
      }
    } catch (error) {
      log(`delivery to endpoint ${endpointId} stopped; the next round retries`, error);
    } finally {
      await releaseWebhookEndpoint(db, endpointId).catch(() => undefined);
    }
  }

  async function round(): Promise<void> {
    while (!stopped && active.size < config.concurrency) {
      const endpoint = await claimWebhookEndpoint(db, leaseMs, [...active.keys()]);
      if (!endpoint) return;
      const run = drainEndpoint(endpoint.id).finally(() => {
        active.delete(endpoint.id);
        wake();
      });
      active.set(endpoint.id, run);
    }
  }

  const loop = (async () => {
    while (!stopped) {
      await round().catch((error: unknown) => log('claiming endpoints failed', error));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  let listener: pg.Client | undefined;
  if (databaseUrl) {
    listener = new pg.Client({ connectionString: databaseUrl });
    listener.on('error', () => undefined);
    listener.on('notification', () => wake());
    listener
      .connect()
      .then(() => listener!.query(`listen ${WEBHOOK_QUEUED_CHANNEL}`))
      .catch((error: unknown) => log('LISTEN failed; polling only', error));
  }

  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
      await Promise.all(active.values());
      await listener?.end().catch(() => undefined);
    },
  };
}
