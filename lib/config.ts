import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';

/**
 * Typed configuration, parsed once at start-up from environment variables.
 * Every variable is a string in the environment; this module is the only place
 * that turns them into numbers and URLs, and it refuses bad values by name.
 */

export interface Config {
  host: string;
  port: number;
  logLevel: string;
  databaseUrl: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
  };
  meili: {
    url: string;
    apiKey: string | undefined;
    /** Prepended to every index name, so several deployments can share one Meilisearch. */
    indexPrefix: string;
  };
  smtp: {
    /** Needed by the worker, which sends notices; the API sends no email. */
    url: string | undefined;
    from: string;
  };
  /** Where people reach the API; links in notices point here. */
  publicUrl: string;
  gdpr: {
    /** Days from receiving an erasure request to its deadline. */
    deadlineDays: number;
    /** Days before the deadline at which compliance users are reminded, largest first. */
    reminderDays: number[];
  };
  /** Each regulation's clock for privacy requests (docs/privacy-requests.md). */
  privacy: { regulations: Record<RegulationName, RegulationClock> };
  /**
   * The region (ISO 3166-1 alpha-2) a phone number written without a country
   * code is read in, by the API and the worker alike (docs/phones.md).
   */
  phoneDefaultRegion: CountryCode;
  /** Largest number of conversations + KObjects two customers may hold together to be merged. */
  mergeItemLimit: number;
  /** How long a previewed merge, split or move waits for its confirmation. */
  confirmTtlMs: number;
  /** How long a customer's export archive can be downloaded before it is deleted (EXPORT_TTL). */
  exportTtlMs: number;
  /** Most objects a bulk delete accepts by explicit ID; more need a saved search. */
  bulkSelectionLimit: number;
  /** Objects a bulk delete erases per transaction. */
  bulkBatchSize: number;
  /** How long a finished job waits for the search index before it reports the index update as pending. */
  searchSettleMs: number;
  /** How long a request that starts, confirms or cancels a job waits for the workflow before answering 202. */
  jobReplyWaitMs: number;
  /** The reconciler that settles jobs whose workflow ended without settling them (terminated, timed out…). */
  reconcile: {
    /** How often the Temporal Schedule runs it. */
    intervalMs: number;
    /**
     * How old a job's row must be before a missing workflow counts as gone: a
     * job row is written a moment before its workflow is started.
     */
    graceMs: number;
  };
  /** Webhook delivery (docs/webhooks.md). */
  webhooks: {
    /** How long one POST may take. */
    timeoutMs: number;
    /** How long a delivery is retried before it is marked failed. */
    maxAgeMs: number;
    /** The first retry's delay; each next one doubles, up to an hour. */
    backoffBaseMs: number;
    /** Consecutive failed attempts that pause an endpoint. */
    breakerThreshold: number;
    /** How long the previous secret keeps signing after a rotation. */
    secretGraceMs: number;
    /** How often the dispatcher looks for due retries (queued events wake it at once). */
    pollMs: number;
    /** Endpoints one worker delivers to at the same time. */
    concurrency: number;
    /** Deliveries of one endpoint taken per database round trip. */
    batchSize: number;
    /**
     * How long an endpoint's lease lasts without renewal: after a worker dies
     * mid-delivery, another sends again once it has run out.
     */
    leaseMs: number;
    /** How long events whose every delivery has finished are kept (attempts with them). */
    retentionMs: number;
    /** How often a worker deletes events older than the retention. */
    cleanupIntervalMs: number;
    /**
     * Whether an erasure request completes only once every endpoint sent its
     * `customer.erasure_requested` acknowledged it or was given up on. Off:
     * it completes at once, and its record says who had not confirmed.
     */
    erasureAcksRequired: boolean;
  };
}

export type RegulationName = 'gdpr' | 'uk_gdpr' | 'ccpa';

/**
 * A regulation's clock, in whole days of 24 hours rather than calendar
 * months: the GDPR's "one month, extendable by two further months" is read as
 * 30 + 60 days, which is never later than the calendar reading would allow
 * (the shortest run of a month is 28 days, but every authority accepts 30 and
 * the request tracker has always used GDPR_DEADLINE_DAYS=30).
 */
export interface RegulationClock {
  /** Days from receiving a request to its statutory deadline. */
  periodDays: number;
  /** Most days extensions may add to the statutory deadline, all extensions together. */
  maxExtensionDays: number;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new ConfigError(`${name} is required`);
  }
  return value;
}

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function parseInteger(
  env: Env,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** "900", "900s", "15m", "1h" → milliseconds. */
export function parseDuration(env: Env, name: string, fallbackMs: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const match = /^(\d+)(ms|s|m|h)?$/.exec(raw.trim());
  if (!match)
    throw new ConfigError(`${name} must be a duration such as 900s, 15m or 1h, got "${raw}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[
    (match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'
  ];
  const value = Number(match[1]) * unit;
  if (value < 1000) throw new ConfigError(`${name} must be at least one second`);
  return value;
}

/** "7,1" → [7, 1]: distinct whole numbers, largest first. */
export function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false`);
}

export function parseDayList(
  env: Env,
  name: string,
  fallback: number[],
  { min = 1, max = 365 } = {},
): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const parts = raw.split(',').map((part) => part.trim());
  if (!parts.every((part) => /^\d+$/.test(part))) {
    throw new ConfigError(`${name} must be whole numbers separated by commas, got "${raw}"`);
  }
  const days = [...new Set(parts.map(Number))].sort((a, b) => b - a);
  if (days.some((day) => day < min || day > max)) {
    throw new ConfigError(`${name} must hold days between ${min} and ${max}, got "${raw}"`);
  }
  return days;
}

/**
 * Read when PHONE_DEFAULT_REGION is unset. Any single default is wrong for most
 * of the world, so deployments set it (docs/phones.md); the US is the largest
 * numbering plan whose people habitually omit the country code.
 */
export const DEFAULT_PHONE_REGION: CountryCode = 'US';

/** "gb" or "GB" → "GB"; a code libphonenumber has no metadata for is refused. */
export function parsePhoneRegion(
  env: Env,
  name = 'PHONE_DEFAULT_REGION',
  fallback: CountryCode = DEFAULT_PHONE_REGION,
): CountryCode {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const region = raw.trim().toUpperCase();
  if (!isSupportedCountry(region)) {
    throw new ConfigError(
      `${name} must be an ISO 3166-1 alpha-2 region with phone numbering (GB, US, DE…), got "${raw}"`,
    );
  }
  return region;
}

function parseUrl(name: string, raw: string): string {
  try {
    return new URL(raw).toString().replace(/\/$/, '');
  } catch (cause) {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`, { cause });
  }
}

export function loadConfig(env: Env = process.env): Config {
  return {
    host: optional(env, 'HOST', '127.0.0.1'),
    port: parseInteger(env, 'PORT', 3000, { max: 65535 }),
    logLevel: optional(env, 'LOG_LEVEL', 'info'),
    databaseUrl: parseUrl('DATABASE_URL', required(env, 'DATABASE_URL')),
    temporal: {
      address: required(env, 'TEMPORAL_ADDRESS'),
      namespace: optional(env, 'TEMPORAL_NAMESPACE', 'default'),
      taskQueue: optional(env, 'TEMPORAL_TASK_QUEUE', 'custodian'),
      uiUrl: parseUrl('TEMPORAL_UI_URL', optional(env, 'TEMPORAL_UI_URL', 'http://127.0.0.1:8233')),
    },
    meili: {
      url: parseUrl('MEILI_URL', required(env, 'MEILI_URL')),
      apiKey: env.MEILI_MASTER_KEY || undefined,
      indexPrefix: optional(env, 'MEILI_INDEX_PREFIX', ''),
    },
    smtp: {
      url: env.SMTP_URL ? parseUrl('SMTP_URL', env.SMTP_URL) : undefined,
      from: optional(env, 'MAIL_FROM', 'Custodian <custodian@localhost>'),
    },
    publicUrl: parseUrl('PUBLIC_URL', optional(env, 'PUBLIC_URL', 'http://127.0.0.1:3000')),
    gdpr: gdprConfig(env),
    privacy: privacyConfig(env),
    phoneDefaultRegion: parsePhoneRegion(env),
    mergeItemLimit: parseInteger(env, 'MERGE_ITEM_LIMIT', 1000, { min: 1 }),
    confirmTtlMs: parseDuration(env, 'MERGE_CONFIRM_TTL', 15 * 60_000),
    exportTtlMs: parseDuration(env, 'EXPORT_TTL', 7 * 24 * 3_600_000),
    bulkSelectionLimit: parseInteger(env, 'BULK_SELECTION_LIMIT', 30, { min: 1, max: 1000 }),
    bulkBatchSize: parseInteger(env, 'BULK_BATCH_SIZE', 2000, { min: 1, max: 5000 }),
    searchSettleMs: parseDuration(env, 'SEARCH_SETTLE_TIMEOUT', 10_000),
    jobReplyWaitMs: parseDuration(env, 'JOB_REPLY_WAIT', 5_000),
    reconcile: {
      intervalMs: parseDuration(env, 'JOB_RECONCILE_INTERVAL', 60_000),
      graceMs: parseDuration(env, 'JOB_RECONCILE_GRACE', 30_000),
    },
    webhooks: {
      timeoutMs: parseDuration(env, 'WEBHOOK_TIMEOUT', 10_000),
      maxAgeMs: parseDuration(env, 'WEBHOOK_MAX_AGE', 3 * 86_400_000),
      backoffBaseMs: parseDuration(env, 'WEBHOOK_BACKOFF_BASE', 10_000),
      breakerThreshold: parseInteger(env, 'WEBHOOK_BREAKER_THRESHOLD', 10, { min: 1 }),
      secretGraceMs: parseDuration(env, 'WEBHOOK_SECRET_GRACE', 86_400_000),
      pollMs: parseDuration(env, 'WEBHOOK_POLL_INTERVAL', 1_000),
      concurrency: parseInteger(env, 'WEBHOOK_CONCURRENCY', 8, { min: 1, max: 100 }),
      batchSize: parseInteger(env, 'WEBHOOK_BATCH_SIZE', 50, { min: 1, max: 1000 }),
      leaseMs: parseDuration(env, 'WEBHOOK_LEASE', 60_000),
      retentionMs: parseDuration(env, 'WEBHOOK_RETENTION', 30 * 86_400_000),
      cleanupIntervalMs: parseDuration(env, 'WEBHOOK_CLEANUP_INTERVAL', 3_600_000),
      erasureAcksRequired: parseBoolean(env, 'WEBHOOK_ERASURE_ACKS_REQUIRED', false),
    },
  };
}

function gdprConfig(env: Env): Config['gdpr'] {
  const deadlineDays = parseInteger(env, 'GDPR_DEADLINE_DAYS', 30, { min: 1, max: 365 });
  const reminderDays = parseDayList(env, 'GDPR_REMINDER_DAYS', [7, 1], {
    min: 1,
    max: deadlineDays,
  });
  return { deadlineDays, reminderDays };
}

function regulationClock(
  env: Env,
  prefix: string,
  periodDays: number,
  maxExtensionDays: number,
): RegulationClock {
  return {
    periodDays: parseInteger(env, `${prefix}_DEADLINE_DAYS`, periodDays, { min: 1, max: 365 }),
    maxExtensionDays: parseInteger(env, `${prefix}_MAX_EXTENSION_DAYS`, maxExtensionDays, {
      min: 0,
      max: 365,
    }),
  };
}

function privacyConfig(env: Env): Config['privacy'] {
  return {
    regulations: {
      // GDPR_DEADLINE_DAYS is the erasure tracker's original setting; it stays the GDPR period.
      gdpr: regulationClock(env, 'GDPR', 30, 60),
      uk_gdpr: regulationClock(env, 'UK_GDPR', 30, 60),
      ccpa: regulationClock(env, 'CCPA', 45, 45),
    },
  };
}
