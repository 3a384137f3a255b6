// Pure unit tests: no services involved.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';

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
});
