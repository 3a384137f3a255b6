import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../lib/errors';

/** Every event a webhook endpoint can subscribe to; the names are a wire contract. */
export const webhookEventTypes = [
  'customer.created',
  'customer.updated',
  'customer.merged',
  'customer.deleted',
  'conversation.moved',
  'kobject.moved',
  'conversation.deleted',
  'kobject.deleted',
  'job.completed',
  'job.failed',
  'privacy_request.created',
  'privacy_request.completed',
  'customer.erasure_requested',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** IDs, counts, codes and statuses only: a payload never carries personal data. */
export type WebhookPayload = Record<string, string | number | boolean | null | string[]>;

/**
 * Where one subscribed system stands with an erasure: `acknowledged` (it
 * answered 2xx, or 202 and later acknowledged through the API), `delivered`
 * (it answered 202 and has not confirmed yet), `failed` (given up after the
 * retry period), or `pending` (not accepted yet: queued or being retried).
 */
export const erasureReceiptStatuses = ['pending', 'delivered', 'acknowledged', 'failed'] as const;
export type ErasureReceiptStatus = (typeof erasureReceiptStatuses)[number];

/** One endpoint's receipt for an erasure: IDs, statuses, codes and times only. */
export interface ErasureReceipt {
  endpointId: string;
  url: string;
  description: string | null;
  deliveryId: string;
  eventId: string;
  status: ErasureReceiptStatus;
  attempts: number;
  lastStatusCode: number | null;
  queuedAt: string;
  deliveredAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedVia: 'response' | 'api' | null;
  failedAt: string | null;
}

export interface ErasureReceipts {
  /** True when every endpoint told of the erasure has acknowledged it (also when none was told). */
  confirmed: boolean;
  /** The endpoints that have not acknowledged it (pending, delivered without ack, or failed). */
  unconfirmedEndpointIds: string[];
  receipts: ErasureReceipt[];
}

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * An endpoint URL must be HTTPS; plain HTTP only to this machine (development),
 * since a signature does not hide the body from whoever sits on the path.
 */
export function checkWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError('unprocessable', 'WEBHOOK_URL_INVALID', 'The URL cannot be parsed.');
  }
  if (url.username || url.password) {
    throw new DomainError(
      'unprocessable',
      'WEBHOOK_URL_INVALID',
      'The URL must not carry credentials; the signature authenticates Custodian.',
    );
  }
  if (url.protocol === 'https:') return url.toString();
  if (url.protocol === 'http:' && loopbackHosts.has(url.hostname)) return url.toString();
  throw new DomainError(
    'unprocessable',
    'WEBHOOK_URL_NOT_HTTPS',
    'The URL must use https (plain http only for 127.0.0.1, ::1 or localhost).',
  );
}

export function checkWebhookEventTypes(types: string[]): WebhookEventType[] {
  const unknown = types.filter((t) => !(webhookEventTypes as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw new DomainError(
      'unprocessable',
      'WEBHOOK_EVENT_TYPE_UNKNOWN',
      `Unknown event types: ${unknown.join(', ')}.`,
      { unknown },
    );
  }
  if (types.length === 0) {
    throw new DomainError(
      'unprocessable',
      'WEBHOOK_EVENT_TYPES_EMPTY',
      'Subscribe to at least one event type.',
    );
  }
  return [...new Set(types)] as WebhookEventType[];
}

/** `t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac with the previous secret>]`. */
export function signatureHeader(secrets: string[], body: string, unixSeconds: number): string {
  const parts = secrets.map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`,
  );
  return [`t=${unixSeconds}`, ...parts].join(',');
}

/** What a consumer does: true when one v1 signature matches `secret` and t is recent. */
export function verifySignature(
  header: string,
  body: string,
  secret: string,
  { nowSeconds = Math.floor(Date.now() / 1000), toleranceSeconds = 300 } = {},
): boolean {
  const fields = header.split(',').map((part) => part.split('=', 2) as [string, string]);
  const t = Number(fields.find(([k]) => k === 't')?.[1]);
  if (!Number.isFinite(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return fields.some(
    ([k, v]) =>
      k === 'v1' && v.length === expected.length && timingSafeEqual(Buffer.from(v), expected),
  );
}

/** Delay before retry number `attempt` (1-based): base · 2^(attempt-1), capped at one hour. */
export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(attempt - 1, 30), 3_600_000);
}
