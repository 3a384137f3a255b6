// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { temporalConnectionOptions } from '../../lib/temporal';
import { createMailer } from '../../notifications/mailer';

const base = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  MEILI_URL: 'http://127.0.0.1:7700',
  SMTP_URL: 'smtp://127.0.0.1:1025',
};

describe('configuration', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(base);
    expect(config.port).toBe(3000);
    expect(config.mergeItemLimit).toBe(1000);
    expect(config.jobReplyWaitMs).toBe(5_000);
    expect(config.temporal).toMatchObject({ namespace: 'default', taskQueue: 'custodian' });
    expect(config.gdpr).toEqual({ deadlineDays: 30, reminderDays: [7, 1] });
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
  });

  it('keeps merge journals for MERGE_UNDO_WINDOW: 30 days by default, 0 turns them off', () => {
    expect(loadConfig(base).mergeUndoWindowMs).toBe(30 * 86_400_000);
    expect(loadConfig({ ...base, MERGE_UNDO_WINDOW: '7d' }).mergeUndoWindowMs).toBe(7 * 86_400_000);
    expect(loadConfig({ ...base, MERGE_UNDO_WINDOW: '12h' }).mergeUndoWindowMs).toBe(43_200_000);
    expect(loadConfig({ ...base, MERGE_UNDO_WINDOW: '0' }).mergeUndoWindowMs).toBe(0);
    expect(() => loadConfig({ ...base, MERGE_UNDO_WINDOW: 'a month' })).toThrow(
      'MERGE_UNDO_WINDOW must be a duration',
    );
    // Elsewhere 0 is still no duration at all.
    expect(() => loadConfig({ ...base, MERGE_CONFIRM_TTL: '0' })).toThrow('at least one second');
  });

  it('gives each regulation its clock in days, configurable, GDPR_DEADLINE_DAYS the GDPR period', () => {
    expect(loadConfig(base).privacy.regulations).toEqual({
      gdpr: { periodDays: 30, maxExtensionDays: 60 },
      uk_gdpr: { periodDays: 30, maxExtensionDays: 60 },
      ccpa: { periodDays: 45, maxExtensionDays: 45 },
    });
    const custom = loadConfig({
      ...base,
      GDPR_DEADLINE_DAYS: '28',
      CCPA_MAX_EXTENSION_DAYS: '0',
    }).privacy.regulations;
    expect(custom.gdpr.periodDays).toBe(28);
    expect(custom.ccpa).toEqual({ periodDays: 45, maxExtensionDays: 0 });
    expect(() => loadConfig({ ...base, UK_GDPR_MAX_EXTENSION_DAYS: 'two months' })).toThrow(
      'UK_GDPR_MAX_EXTENSION_DAYS must be a whole number',
    );
  });

  it('reads GDPR reminder days as a list, largest first, within the deadline', () => {
    expect(loadConfig({ ...base, GDPR_REMINDER_DAYS: ' 1, 14,7,7' }).gdpr.reminderDays).toEqual([
      14, 7, 1,
    ]);
    expect(() => loadConfig({ ...base, GDPR_REMINDER_DAYS: '7;1' })).toThrow(
      'GDPR_REMINDER_DAYS must be whole numbers',
    );
    expect(() =>
      loadConfig({ ...base, GDPR_DEADLINE_DAYS: '10', GDPR_REMINDER_DAYS: '14' }),
    ).toThrow('GDPR_REMINDER_DAYS must hold days between 1 and 10');
    expect(() => loadConfig({ ...base, GDPR_DEADLINE_DAYS: '0' })).toThrow('GDPR_DEADLINE_DAYS');
  });

  it('reads the default phone region as an ISO 3166-1 alpha-2 code with phone numbering', () => {
    expect(loadConfig(base).phoneDefaultRegion).toBe('US');
    expect(loadConfig({ ...base, PHONE_DEFAULT_REGION: ' gb ' }).phoneDefaultRegion).toBe('GB');
    for (const bad of ['UK', 'XX', 'GBR', '44'])
      expect(() => loadConfig({ ...base, PHONE_DEFAULT_REGION: bad }), bad).toThrow(
        `PHONE_DEFAULT_REGION must be an ISO 3166-1 alpha-2 region with phone numbering (GB, US, DE…), got "${bad}"`,
      );
  });

  it('leaves /metrics open and the worker listener off unless told; the SDK port follows the worker port', () => {
    expect(loadConfig(base).metrics).toEqual({ token: undefined, worker: undefined });
    expect(loadConfig({ ...base, WORKER_METRICS_PORT: '9464' }).metrics.worker).toEqual({
      host: '127.0.0.1',
      port: 9464,
      sdkPort: 9465,
    });
    expect(
      loadConfig({
        ...base,
        WORKER_METRICS_PORT: '9464',
        WORKER_METRICS_HOST: '0.0.0.0',
        TEMPORAL_METRICS_PORT: '9100',
      }).metrics.worker,
    ).toEqual({ host: '0.0.0.0', port: 9464, sdkPort: 9100 });
    expect(() =>
      loadConfig({ ...base, WORKER_METRICS_PORT: '9464', TEMPORAL_METRICS_PORT: '9464' }),
    ).toThrow('TEMPORAL_METRICS_PORT must differ from WORKER_METRICS_PORT');
    expect(() => loadConfig({ ...base, METRICS_TOKEN: 'short' })).toThrow(
      'METRICS_TOKEN must be at least 16 characters',
    );
    expect(loadConfig({ ...base, METRICS_TOKEN: 'a-long-enough-token' }).metrics.token).toBe(
      'a-long-enough-token',
    );
  });

  it('lets the API run without SMTP, and refuses a worker mailer without it', () => {
    const { SMTP_URL: _smtp, ...withoutSmtp } = base;
    const config = loadConfig(withoutSmtp);
    expect(config.smtp.url).toBeUndefined();
    expect(() => createMailer(config.smtp)).toThrow('SMTP_URL is required');
  });

  it('names the variable that is missing or malformed', () => {
    expect(() => loadConfig({ ...base, DATABASE_URL: '' })).toThrow('DATABASE_URL is required');
    expect(() => loadConfig({ ...base, PORT: '80a' })).toThrow('PORT must be a whole number');
    expect(() => loadConfig({ ...base, MERGE_ITEM_LIMIT: '0' })).toThrow(
      'MERGE_ITEM_LIMIT must be between 1',
    );
    expect(() => loadConfig({ ...base, MEILI_URL: 'not a url' })).toThrow(
      'MEILI_URL must be a URL',
    );
  });

  it('reads how to reach Temporal: plaintext by default, TLS with a client certificate or an API key', () => {
    expect(loadConfig(base).temporal).toMatchObject({
      registerSearchAttributes: true,
      tls: undefined,
      apiKey: undefined,
    });
    expect(
      loadConfig({ ...base, TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'false' }).temporal
        .registerSearchAttributes,
    ).toBe(false);
    expect(() => loadConfig({ ...base, TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'off' })).toThrow(
      'TEMPORAL_REGISTER_SEARCH_ATTRIBUTES must be true or false, got "off"',
    );
    expect(loadConfig({ ...base, TEMPORAL_API_KEY: 'cloud-key' }).temporal).toMatchObject({
      apiKey: 'cloud-key',
      tls: { clientCertPath: undefined, clientKeyPath: undefined },
    });
    expect(loadConfig({ ...base, TEMPORAL_TLS: 'true' }).temporal.tls).toBeDefined();
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_CERT: '/etc/temporal/client.pem' })).toThrow(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together',
    );
    expect(() => loadConfig({ ...base, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toThrow(
      'TEMPORAL_TLS=false cannot be combined',
    );
  });

  it('hands the client and the worker the certificate files named, or names the one it cannot read', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-tls-'));
    writeFileSync(path.join(dir, 'client.pem'), 'CERT');
    writeFileSync(path.join(dir, 'client.key'), 'KEY');
    const config = loadConfig({
      ...base,
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud',
    });
    const options = temporalConnectionOptions(config.temporal);
    expect(options.address).toBe('ns.acct.tmprl.cloud:7233');
    expect(options.tls?.serverNameOverride).toBe('ns.acct.tmprl.cloud');
    expect(Buffer.from(options.tls!.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(options.tls!.clientCertPair!.key).toString()).toBe('KEY');
    expect(options.apiKey).toBeUndefined();
    expect(temporalConnectionOptions(loadConfig(base).temporal)).toEqual({
      address: '127.0.0.1:7233',
    });
    expect(() =>
      temporalConnectionOptions(
        loadConfig({
          ...base,
          TEMPORAL_TLS: 'true',
          TEMPORAL_TLS_CA: path.join(dir, 'missing.pem'),
        }).temporal,
      ),
    ).toThrow(`TEMPORAL_TLS_CA names a file that cannot be read: ${path.join(dir, 'missing.pem')}`);
  });
});
