/**
 * The floor a confirmed job's round trips cannot go below, as a workflow of
 * the same shape doing nothing: an update that waits for the outcome, one
 * ordinary activity (a confirmed job's execute step), then a local one (its
 * index wait and settling), and the update's answer. bench/floors.ts runs it.
 */
import {
  allHandlersFinished,
  condition,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

export interface FloorActivities {
  noop(): Promise<void>;
}

export const goUpdate = defineUpdate<void>('go');

const { noop } = proxyActivities<FloorActivities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10 seconds' });

export async function floorWorkflow(): Promise<void> {
  let go = false;
  let done = false;
  setHandler(goUpdate, async () => {
    go = true;
    await condition(() => done);
  });
  await condition(() => go);
  await noop();
  await local.noop();
  done = true;
  await condition(allHandlersFinished);
}
