/**
 * Jobs-per-second benchmark: small merges (each customer 3 conversations and
 * 2 KObjects), each previewed and confirmed through the API and the real
 * workflow with the in-process worker: in every run first a few one at a
 * time (the same-run baseline), then JOBS of them CONCURRENCY at a time.
 * Prints jobs/s of both side by side, and the preview and confirm →
 * completed latencies of the concurrent part. Warm-up, then rounds until two
 * agree within 15 % (`bench/measure.ts`). Any job that does not complete
 * fails the run. Run: `npm run bench:jobs`.
 */
import { sql } from 'drizzle-orm';
import { drive, mergeOnce, seedPairs, withThrowawayApp } from './harness';
import { machineLine, measure, percentile, printMeasured, verdict } from './measure';

const JOBS = Number(process.env.BENCH_JOBS ?? 40);
const SEQUENTIAL_JOBS = 10;
const CONCURRENCY = 10;
const TARGET_JOBS_PER_SECOND = 20;
const TARGET_CONFIRM_P99_MS = 500;

type Pair = [string, string];

async function main() {
  await withThrowawayApp('bench-jobs', async ({ app, db, headers }) => {
    const klass = await db.execute<{ id: string }>(
      sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
    );
    const klassId = klass.rows[0]!.id;
    const one = (pair: Pair) => mergeOnce(app, headers, pair);

    const measured = await measure(
      async () => {
        // Seeded before the clock starts: only the jobs are timed.
        const sequential = await drive(await seedPairs(db, klassId, SEQUENTIAL_JOBS), 1, one);
        const parallel = await drive(await seedPairs(db, klassId, JOBS), CONCURRENCY, one);
        return {
          rate: JOBS / parallel.seconds,
          sequentialRate: SEQUENTIAL_JOBS / sequential.seconds,
          previewP50: percentile(parallel.previewMs, 0.5),
          previewP99: percentile(parallel.previewMs, 0.99),
          confirmP50: percentile(parallel.confirmMs, 0.5),
          confirmP99: percentile(parallel.confirmMs, 0.99),
        };
      },
      { warmup: 1, runs: 3, maxRounds: 3, check: ['rate', 'sequentialRate'] },
    );

    console.log(
      `\nmerges of 2 × 5 items (3 conversations + 2 KObjects each), previewed and confirmed through the API; each run ${SEQUENTIAL_JOBS} one at a time, then ${JOBS} ${CONCURRENCY} at a time`,
    );
    console.log(machineLine());
    printMeasured(
      `jobs per second at concurrency ${CONCURRENCY}, against one at a time in the same runs`,
      measured,
      {
        labels: { rate: `concurrency ${CONCURRENCY}`, sequentialRate: 'one at a time' },
        baseline: 'sequentialRate',
        unit: 'jobs/s',
        digits: 1,
      },
    );
    printMeasured(`latencies at concurrency ${CONCURRENCY} (each run's percentile)`, measured, {
      labels: {
        previewP50: 'preview p50',
        previewP99: 'preview p99',
        confirmP50: 'confirm → completed p50',
        confirmP99: 'confirm → completed p99',
      },
    });
    const { medians } = measured.last;
    console.log(
      `\ntargets: ≥ ${TARGET_JOBS_PER_SECOND} jobs/s at concurrency ${CONCURRENCY}: ${verdict(medians.rate >= TARGET_JOBS_PER_SECOND)}; confirm p99 ≤ ${TARGET_CONFIRM_P99_MS} ms: ${verdict(medians.confirmP99 <= TARGET_CONFIRM_P99_MS)}`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
