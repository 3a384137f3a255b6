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

/**
 * Starts the real services on free ports with throw-away data, once for the
 * whole run; the returned function stops them and deletes the data.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const stack = await startThrowawayStack('test');
  const { dataDir } = stack;
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
    await stack.destroy();
    throw error;
  }
  console.log(`test services ready in ${Date.now() - started} ms (data in ${dataDir})`);

  return () => stack.destroy();
}
