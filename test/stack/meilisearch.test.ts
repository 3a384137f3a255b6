import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../stack';
import { startMeilisearch, type StartedMeilisearch } from '../../stack/meilisearch';

let meili: StartedMeilisearch;
let dataDir: string;
// One random base64url key in 64 starts with "-": Meilisearch once read such a key as a flag.
const masterKey = `-u${randomBytes(16).toString('base64url')}`;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'custodian-meili-key-'));
  meili = await startMeilisearch({
    dataDir,
    port: await freePort(),
    masterKey,
    logFile: path.join(dataDir, 'meili.log'),
  });
});

afterAll(async () => {
  await meili?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the Meilisearch the project starts', () => {
  it('starts with any master key, even one that looks like a flag, and requires it', async () => {
    const withKey = await fetch(`${meili.url}/indexes`, {
      headers: { authorization: `Bearer ${masterKey}` },
    });
    expect(withKey.status).toBe(200);
    const withoutKey = await fetch(`${meili.url}/indexes`);
    expect(withoutKey.status).toBe(401);
  });
});
