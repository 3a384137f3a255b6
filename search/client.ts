import { Meilisearch, type EnqueuedTaskPromise, type Task } from 'meilisearch';

export function createSearchClient({
  url,
  apiKey,
}: {
  url: string;
  apiKey: string | undefined;
}): Meilisearch {
  return new Meilisearch({
    host: url,
    ...(apiKey ? { apiKey } : {}),
    // Compressed responses of ~20 hits arrive in two packets and the second waits
    // ~40 ms for a delayed ACK on a reused connection; uncompressed they do not.
    requestInit: { headers: { 'Accept-Encoding': 'identity' } },
  });
}

export class SearchTaskError extends Error {
  override name = 'SearchTaskError';
}

/**
 * Waits until Meilisearch has applied a task. A failed task does not make the
 * client's wait throw, so the outcome is checked here: "index updated" means it.
 */
export async function waitForSearchTask(
  meili: Meilisearch,
  enqueued: EnqueuedTaskPromise,
  timeout = 60_000,
): Promise<Task> {
  const task = await meili.tasks.waitForTask(await enqueued, { timeout, interval: 25 });
  if (task.status !== 'succeeded') {
    throw new SearchTaskError(
      `Meilisearch task ${task.uid} (${task.type}) ${task.status}: ${task.error?.message ?? 'no reason given'}`,
    );
  }
  return task;
}

/**
 * Waits for several tasks, submitted together, and fails if any of them did
 * not succeed. A short poll: a job's reply waits on it, and a finished task
 * answers in about a millisecond.
 */
export async function waitForSearchTasks(
  meili: Meilisearch,
  enqueued: EnqueuedTaskPromise[],
  timeout = 300_000,
): Promise<void> {
  if (enqueued.length === 0) return;
  const tasks = await meili.tasks.waitForTasks(await Promise.all(enqueued), {
    timeout,
    interval: 10,
  });
  const failed = tasks.find((task) => task.status !== 'succeeded');
  if (failed) {
    throw new SearchTaskError(
      `Meilisearch task ${failed.uid} (${failed.type}) ${failed.status}: ${failed.error?.message ?? 'no reason given'}`,
    );
  }
}
