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
    /**
     * Whether the worker registers Custodian's search attributes at start.
     * That needs operator rights a managed namespace (Temporal Cloud) does not
     * give workers; there the setup job (`npm run setup`) or the namespace's
     * admin registers them once, and workers run with this off.
     */
    registerSearchAttributes: boolean;
    /** TLS to the Temporal frontend; undefined for plaintext (a server on a private network). */
    tls: TemporalTls | undefined;
    /** A Temporal Cloud API key, sent as `Authorization: Bearer`; implies TLS. */
    apiKey: string | undefined;
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
  privacy: {
    regulations: Record<RegulationName, RegulationClock>;
    /**
     * Days a closed request's records are kept, per regulation, before the
     * worker purges them (`<REGULATION>_RECORDS_RETENTION_DAYS`; CCPA at least
     * 730, its 24 months).
     */
    recordsRetentionDays: Record<RegulationName, number>;
    /** How often the worker looks for closed requests past their retention (PRIVACY_PURGE_INTERVAL). */
    purgeIntervalMs: number;
  };
  /**
   * The region (ISO 3166-1 alpha-2) a phone number written without a country
   * code is read in, by the API and the worker alike (docs/phones.md).
   */
  phoneDefaultRegion: CountryCode;
  /** Largest number of conversations + KObjects two customers may hold together to be merged. */
  mergeItemLimit: number;
  /** How long a previewed merge, split or move waits for its confirmation. */
  confirmTtlMs: number;
  /** How long a merge can be undone, its journal kept (MERGE_UNDO_WINDOW); 0 keeps no journal. */
  mergeUndoWindowMs: number;
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
  /** Prometheus metrics (docs/metrics.md). */
  metrics: {
    /**
     * When set (METRICS_TOKEN, at least 16 characters), the API's GET /metrics
     * needs it as a bearer token; unset, /metrics is open like /health: it
     * holds no personal data, only route patterns, counts and durations.
     */
    token: string | undefined;
    /**
     * The worker's metrics listener (WORKER_METRICS_PORT): off when unset, as
     * several workers may share a host; deployments set it (deploy/compose.yaml does).
     */
    worker:
      | {
          /** WORKER_METRICS_HOST, 127.0.0.1 by default; 0.0.0.0 in a container. */
          host: string;
          port: number;
          /**
           * Where the Temporal SDK serves its own metrics (TEMPORAL_METRICS_PORT,
           * WORKER_METRICS_PORT + 1 by default), on the same host: the worker's
           * listener appends them to its own, so one scrape gets both.
           */
          sdkPort: number;
        }
      | undefined;
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

/** Files are read when connecting, so a rotated certificate is picked up by the next process start. */
export interface TemporalTls {
  /** PEM client certificate and key for mTLS (Temporal Cloud's certificate auth, or a self-hosted mTLS frontend). */
  clientCertPath: string | undefined;
  clientKeyPath: string | undefined;
  /** PEM root CA of the server, when the system's roots do not vouch for it. */
  serverCaPath: string | undefined;
  /** TLS server name (SNI) when it differs from the address's host. */
  serverName: string | undefined;
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

/** "true" / "false" (also 1/0, yes/no), anything else refused by name. */
export function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/**
 * "900", "900s", "15m", "1h", "30d" → milliseconds. With `zeroTurnsOff`, "0"
 * is accepted too and means the feature is off.
 */
export function parseDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  { zeroTurnsOff = false } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match)
    throw new ConfigError(`${name} must be a duration such as 900s, 15m, 1h or 30d, got "${raw}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  const value = Number(match[1]) * unit;
  if (value === 0 && zeroTurnsOff) return 0;
  if (value < 1000) throw new ConfigError(`${name} must be at least one second`);
  return value;
}

/** "7,1" → [7, 1]: distinct whole numbers, largest first. */
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
      registerSearchAttributes: parseBoolean(env, 'TEMPORAL_REGISTER_SEARCH_ATTRIBUTES', true),
      ...temporalAuth(env),
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
    // Links in notices lead to this API: by default where it listens here, so a changed PORT is followed.
    publicUrl: parseUrl(
      'PUBLIC_URL',
      optional(
        env,
        'PUBLIC_URL',
        `http://127.0.0.1:${parseInteger(env, 'PORT', 3000, { max: 65535 })}`,
      ),
    ),
    gdpr: gdprConfig(env),
    privacy: privacyConfig(env),
    phoneDefaultRegion: parsePhoneRegion(env),
    mergeItemLimit: parseInteger(env, 'MERGE_ITEM_LIMIT', 1000, { min: 1 }),
    confirmTtlMs: parseDuration(env, 'MERGE_CONFIRM_TTL', 15 * 60_000),
    mergeUndoWindowMs: parseDuration(env, 'MERGE_UNDO_WINDOW', 30 * 86_400_000, {
      zeroTurnsOff: true,
    }),
    exportTtlMs: parseDuration(env, 'EXPORT_TTL', 7 * 24 * 3_600_000),
    bulkSelectionLimit: parseInteger(env, 'BULK_SELECTION_LIMIT', 30, { min: 1, max: 1000 }),
    bulkBatchSize: parseInteger(env, 'BULK_BATCH_SIZE', 2000, { min: 1, max: 5000 }),
    searchSettleMs: parseDuration(env, 'SEARCH_SETTLE_TIMEOUT', 10_000),
    jobReplyWaitMs: parseDuration(env, 'JOB_REPLY_WAIT', 5_000),
    reconcile: {
      intervalMs: parseDuration(env, 'JOB_RECONCILE_INTERVAL', 60_000),
      graceMs: parseDuration(env, 'JOB_RECONCILE_GRACE', 30_000),
    },
    metrics: metricsConfig(env),
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

function metricsConfig(env: Env): Config['metrics'] {
  const token = env.METRICS_TOKEN || undefined;
  if (token !== undefined && token.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  }
  const port = parseInteger(env, 'WORKER_METRICS_PORT', 0, { max: 65534 });
  if (port === 0) return { token, worker: undefined };
  const sdkPort = parseInteger(env, 'TEMPORAL_METRICS_PORT', port + 1, { min: 1, max: 65535 });
  if (sdkPort === port) {
    throw new ConfigError('TEMPORAL_METRICS_PORT must differ from WORKER_METRICS_PORT');
  }
  return {
    token,
    worker: { host: optional(env, 'WORKER_METRICS_HOST', '127.0.0.1'), port, sdkPort },
  };
}

/**
 * TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY (mTLS), or TEMPORAL_API_KEY; either
 * turns TLS on, as does TEMPORAL_TLS=true alone (server-side TLS only).
 */
function temporalAuth(env: Env): Pick<Config['temporal'], 'tls' | 'apiKey'> {
  const clientCertPath = env.TEMPORAL_TLS_CERT || undefined;
  const clientKeyPath = env.TEMPORAL_TLS_KEY || undefined;
  if ((clientCertPath === undefined) !== (clientKeyPath === undefined)) {
    throw new ConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  }
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const tlsOn = parseBoolean(
    env,
    'TEMPORAL_TLS',
    clientCertPath !== undefined || apiKey !== undefined,
  );
  if (!tlsOn && (clientCertPath !== undefined || apiKey !== undefined)) {
    throw new ConfigError(
      'TEMPORAL_TLS=false cannot be combined with TEMPORAL_TLS_CERT or TEMPORAL_API_KEY',
    );
  }
  return {
    apiKey,
    tls: tlsOn
      ? {
          clientCertPath,
          clientKeyPath,
          serverCaPath: env.TEMPORAL_TLS_CA || undefined,
          serverName: env.TEMPORAL_TLS_SERVER_NAME || undefined,
        }
      : undefined,
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
    recordsRetentionDays: {
      gdpr: parseInteger(env, 'GDPR_RECORDS_RETENTION_DAYS', 730, { min: 1, max: 3650 }),
      uk_gdpr: parseInteger(env, 'UK_GDPR_RECORDS_RETENTION_DAYS', 730, { min: 1, max: 3650 }),
      // CCPA regulations (11 CCR § 7101) require the records for at least 24 months.
      ccpa: parseInteger(env, 'CCPA_RECORDS_RETENTION_DAYS', 730, { min: 730, max: 3650 }),
    },
    purgeIntervalMs: parseDuration(env, 'PRIVACY_PURGE_INTERVAL', 3_600_000),
  };
}
