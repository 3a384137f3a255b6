/**
 * Floors measured beside a benchmark, in the same run: what Temporal's round
 * trips cost a job that does nothing (bench/floor-workflows.ts on a worker of
 * its own), and what Meilisearch takes to apply the same documents a job's
 * index wait waits for.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Meilisearch } from 'meilisearch';
import type { Database } from '../db/client';
import type { Config } from '../lib/config';
import { temporalConnectionOptions } from '../lib/temporal';
import { waitForSearchTasks } from '../search/client';
import { emptyProjection, planProjection, submitProjection } from '../search/documents';
import type { SearchEntity } from '../search/indexes';
import { floorWorkflow, goUpdate } from './floor-workflows';

export interface TemporalFloor {
  /** Starts a do-nothing workflow (untimed), then times its update: confirm → outcome. */
  confirmShaped(): Promise<number>;
  /** Times starting a do-nothing workflow and awaiting its first workflow task (an update accepted). */
  startShaped(): Promise<number>;
  stop(): Promise<void>;
}

export async function startTemporalFloor(config: Config, client: Client): Promise<TemporalFloor> {
  const taskQueue = `bench-floor-${randomUUID().slice(0, 8)}`;
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./floor-workflows.ts', import.meta.url)),
    activities: { noop: async () => undefined },
  });
  const running = worker.run();
  const start = () =>
    client.workflow.start(floorWorkflow, { taskQueue, workflowId: `floor-${randomUUID()}` });
  return {
    async confirmShaped() {
      const handle = await start();
      const t0 = performance.now();
      await handle.executeUpdate(goUpdate);
      const ms = performance.now() - t0;
      await handle.result();
      return ms;
    },
    async startShaped() {
      const t0 = performance.now();
      const handle = await start();
      await handle.executeUpdate(goUpdate);
      const ms = performance.now() - t0;
      await handle.result();
      return ms;
    },
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/**
 * Has Meilisearch apply what the search sync would for these rows — the same
 * documents read the same way, the same tasks — and waits for it: the index
 * wait's floor. Returns the time from submitting to applied.
 */
export async function meiliFloor(
  db: Database,
  meili: Meilisearch,
  prefix: string,
  ids: Partial<Record<SearchEntity, string[]>>,
): Promise<number> {
  const projection = emptyProjection();
  for (const [entity, list] of Object.entries(ids) as [SearchEntity, string[]][])
    await planProjection(db, projection, entity, list);
  const t0 = performance.now();
  await waitForSearchTasks(meili, submitProjection(meili, prefix, projection));
  return performance.now() - t0;
}
