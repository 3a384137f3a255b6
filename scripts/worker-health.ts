/**
 * The worker container's health check (deploy/compose.yaml): healthy when a
 * worker on this host polls Custodian's task queue for both workflow and
 * activity tasks, as Temporal itself sees it. A worker's identity is
 * `<pid>@<hostname>` and a container has a hostname of its own, so each
 * replica checks itself; it needs only the namespace's read rights.
 * Exits 0 when healthy, 1 with the reason otherwise.
 */
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import os from 'node:os';
import { loadConfig } from '../lib/config';
import { connectTemporal } from '../lib/temporal';

const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } =
  proto.temporal.api.enums.v1.TaskQueueType;

async function main(): Promise<string | undefined> {
  const config = loadConfig();
  const suffix = `@${process.env.WORKER_HEALTH_HOSTNAME || os.hostname()}`;
  const connection = await connectTemporal(config.temporal, { timeoutMs: 5_000, rpcAttempts: 2 });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    for (const [kind, taskQueueType] of [
      ['workflow', TASK_QUEUE_TYPE_WORKFLOW],
      ['activity', TASK_QUEUE_TYPE_ACTIVITY],
    ] as const) {
      const { pollers } = await client.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.taskQueue },
        taskQueueType,
      });
      if (!pollers?.some((poller) => poller.identity?.endsWith(suffix))) {
        return `no worker on this host (*${suffix}) polls ${kind} tasks of "${config.temporal.taskQueue}"`;
      }
    }
    return undefined;
  } finally {
    await connection.close();
  }
}

main().then(
  (problem) => {
    if (problem) console.error(`unhealthy: ${problem}`);
    process.exit(problem ? 1 : 0);
  },
  (error: unknown) => {
    console.error(`unhealthy: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
