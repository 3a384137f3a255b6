import { bundleWorkflowCode } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../db/migrate';
import { startStack } from '../stack';
import { workflowsPath } from '../worker';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DATABASE_URL, TEMPORAL_ADDRESS, MEILI_URL, MEILI_MASTER_KEY, SMTP_URL, MAIL_INBOX_URL. */
    serviceEnv: Record<string, string>;
    /** Workflow code bundled once for every test worker. */
    workflowBundlePath: string;
  }
}

/**
 * Starts the real services on free ports with throw-away data, once for the
 * whole run; the returned function stops them and deletes the data.
 */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custodian-test-'));
  const started = Date.now();
  const stack = await startStack({
    dataDir,
    ports: { postgres: 0, temporal: 0, temporalUi: 0, meilisearch: 0, smtp: 0, mailWeb: 0 },
    headless: true,
    meiliMasterKey: randomBytes(24).toString('base64url'),
    // Tests never touch the services a developer's environment points at.
    env: {},
  });
  try {
    await runMigrations(stack.env.DATABASE_URL!);
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      logger: {
        trace() {},
        debug() {},
        info() {},
        warn: console.warn,
        error: console.error,
        log() {},
      },
    });
    const workflowBundlePath = path.join(dataDir, 'workflow-bundle.js');
    writeFileSync(workflowBundlePath, code);
    project.provide('serviceEnv', stack.env);
    project.provide('workflowBundlePath', workflowBundlePath);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  console.log(`test services ready in ${Date.now() - started} ms (data in ${dataDir})`);

  return async () => {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
