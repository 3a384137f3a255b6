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
const running = await startWorker(config, { workflowBundle: { codePath } });
console.log(`worker polling task queue "${config.temporal.taskQueue}"`);
await running.done;
