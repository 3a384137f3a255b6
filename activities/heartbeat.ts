import { Context } from '@temporalio/activity';

/** Keeps telling Temporal a long transaction is alive, so a crashed worker's attempt is retried quickly. */
export async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
