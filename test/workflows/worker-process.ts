/**
 * A worker in a process of its own for the crash tests (not a test file): the
 * same `startWorker` as worker.ts, but on the workflow code the global setup
 * bundled once, so each start takes a second instead of a bundling pass.
 */
import { loadConfig } from '../../lib/config';
import { startWorker } from '../../worker';

const codePath = process.env.TEST_WORKFLOW_BUNDLE;
if (!codePath) throw new Error('TEST_WORKFLOW_BUNDLE (the bundled workflow code) is not set');
const config = loadConfig();
// Tests share one database: its webhook dispatcher serves only the endpoints a test names.
const webhookEndpoints = process.env.TEST_WEBHOOK_ENDPOINTS?.split(',').filter(Boolean);
const running = await startWorker(config, {
  workflowBundle: { codePath },
  webhooks: webhookEndpoints !== undefined,
  ...(webhookEndpoints ? { webhookEndpoints } : {}),
});
console.log(`worker polling task queue "${config.temporal.taskQueue}"`);
await running.done;
