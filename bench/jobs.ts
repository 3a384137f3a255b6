/**
 * Jobs-per-core benchmark: 50 small merges (each customer 3 conversations and
 * 2 KObjects), each previewed and confirmed through the API and the real
 * workflow, first one at a time, then 10 at a time. Prints jobs/s of both side
 * by side and the confirm → completed latency. Any job that does not complete
 * fails the run. Run: `npm run bench:jobs`.
 */
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { mergeOnce, seedMergePair, withThrowawayApp } from './harness';

const JOBS = 50;
const CONCURRENCY = [1, 10];
const TARGET_JOBS_PER_SECOND = 10;
const TARGET_CONFIRM_P99_MS = 1000;

interface Run {
  seconds: number;
  previewMs: number[];
  confirmMs: number[];
}

async function drive(
  pairs: [string, string][],
  concurrency: number,
  one: (pair: [string, string]) => Promise<{ previewMs: number; confirmMs: number }>,
): Promise<Run> {
  const run: Run = { seconds: 0, previewMs: [], confirmMs: [] };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < pairs.length) {
        const { previewMs, confirmMs } = await one(pairs[next++]!);
        run.previewMs.push(previewMs);
        run.confirmMs.push(confirmMs);
      }
    }),
  );
  run.seconds = (performance.now() - started) / 1000;
  return run;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main() {
  await withThrowawayApp('bench-jobs', async ({ app, db, headers }) => {
    const klass = await db.execute<{ id: string }>(
      sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
    );
    const klassId = klass.rows[0]!.id;
    const one = (pair: [string, string]) => mergeOnce(app, headers, pair);

    // A few merges first, so the worker's caches and connection pools are warm in both runs.
    const warmup = await Promise.all(Array.from({ length: 5 }, () => seedMergePair(db, klassId)));
    await drive(warmup, 5, one);

    const runs = new Map<number, Run>();
    for (const concurrency of CONCURRENCY) {
      const pairs: [string, string][] = [];
      for (let i = 0; i < JOBS; i++) pairs.push(await seedMergePair(db, klassId));
      runs.set(concurrency, await drive(pairs, concurrency, one));
    }

    console.log(
      `\n${JOBS} merges of 2 × 5 items (3 conversations + 2 KObjects each), previewed and confirmed through the API`,
    );
    console.log(
      `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    console.log('concurrency   jobs/s   preview p50 / p99 ms   confirm → completed p50 / p99 ms');
    for (const [concurrency, run] of runs) {
      console.log(
        `${String(concurrency).padStart(11)}   ${(JOBS / run.seconds).toFixed(1).padStart(6)}   ${`${percentile(run.previewMs, 0.5).toFixed(0)} / ${percentile(run.previewMs, 0.99).toFixed(0)}`.padStart(20)}   ${`${percentile(run.confirmMs, 0.5).toFixed(0)} / ${percentile(run.confirmMs, 0.99).toFixed(0)}`.padStart(32)}`,
      );
    }
    const sequential = runs.get(1)!;
    const parallel = runs.get(10)!;
    console.log(
      `\nconcurrency 10 ÷ sequential: ${(sequential.seconds / parallel.seconds).toFixed(1)}×`,
    );
    const rate = JOBS / parallel.seconds;
    const p99 = percentile(parallel.confirmMs, 0.99);
    console.log(
      `target: ≥ ${TARGET_JOBS_PER_SECOND} jobs/s at concurrency 10: ${rate >= TARGET_JOBS_PER_SECOND ? 'met' : 'NOT met'}; confirm p99 ≤ ${TARGET_CONFIRM_P99_MS} ms: ${p99 <= TARGET_CONFIRM_P99_MS ? 'met' : 'NOT met'}`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
