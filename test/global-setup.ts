import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../db/migrate';
import { startThrowawayStack } from '../stack';
import { workflowsPath } from '../worker';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DATABASE_URL, TEMPORAL_ADDRESS, MEILI_URL, MEILI_MASTER_KEY, SMTP_URL, MAIL_INBOX_URL. */
    serviceEnv: Record<string, string>;
    /** Workflow code bundled once for every test worker. */
    workflowBundlePath: string;
  }
}

/** Settings every test runs with, on top of the services' addresses. */
const testEnv = {
  // The phone fixtures and the tests of national spellings are British ("020 7946 0958").
  PHONE_DEFAULT_REGION: 'GB',
};

/**
 * Starts the real services on free ports with throw-away data, once for the
 * whole run; the returned function stops them and deletes the data.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const stack = await startThrowawayStack('test');
  const { dataDir } = stack;
  try {
    await runMigrations(stack.env.DATABASE_URL!, {
      log: (line) => console.log(`migrations: ${line}`),
      env: { ...stack.env, ...testEnv },
    });
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
    project.provide('serviceEnv', { ...stack.env, ...testEnv });
    project.provide('workflowBundlePath', workflowBundlePath);
  } catch (error) {
    await stack.destroy();
    throw error;
  }
  console.log(`test services ready in ${Date.now() - started} ms (data in ${dataDir})`);

  return () => stack.destroy();
}
