/**
 * Merge benchmark: two customers with 500 timeline items each (250
 * conversations with two messages, 250 KObjects), merged through the API and
 * the real workflow, against bare SQL in the same run: reading the same items
 * (the preview's baseline) and moving the same rows (the merge's baseline).
 * Warm-up, then rounds until two agree within 15 % (`bench/measure.ts`).
 * Run: `npm run bench:merge`.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { mergeOnce, seedTimelineCustomer, withThrowawayApp } from './harness';
import { machineLine, measure, printMeasured, verdict } from './measure';

const CONVERSATIONS = 250;
const KOBJECTS = 250;
const TARGET_MERGE_RATIO = 12;
const TARGET_PREVIEW_RATIO = 6;

const seedCustomer = (db: Database, klassId: string) =>
  seedTimelineCustomer(db, klassId, { conversations: CONVERSATIONS, kobjects: KOBJECTS });

/** What a preview has to read, in bare SQL: both customers and every item either holds. */
async function bareRead(db: Database, ids: [string, string]): Promise<number> {
  const started = performance.now();
  await db.transaction(async (tx) => {
    await tx.execute(sql`select * from customers where id in (${ids[0]}, ${ids[1]})`);
    await tx.execute(
      sql`select id, customer_id from conversations where customer_id in (${ids[0]}, ${ids[1]})`,
    );
    await tx.execute(
      sql`select id, customer_id from kobjects where customer_id in (${ids[0]}, ${ids[1]})`,
    );
  });
  return performance.now() - started;
}

/** What a merge has to write, in bare SQL: the same rows moved, the source deleted. */
async function bareMove(db: Database, [source, target]: [string, string]): Promise<number> {
  const started = performance.now();
  await db.transaction(async (tx) => {
    await tx.execute(
      sql`select id from customers where id in (${source}, ${target}) order by id for update`,
    );
    await tx.execute(
      sql`update conversations set customer_id = ${target} where customer_id = ${source}`,
    );
    await tx.execute(
      sql`update kobjects set customer_id = ${target} where customer_id = ${source}`,
    );
    await tx.execute(sql`delete from customers where id = ${source}`);
  });
  return performance.now() - started;
}

async function main() {
  await withThrowawayApp('bench-merge', async ({ app, db, headers }) => {
    const klass = await db.execute<{ id: string }>(
      sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
    );
    const klassId = klass.rows[0]!.id;
    let indexPending = 0;

    const measured = await measure(
      async () => {
        const pair: [string, string] = [
          await seedCustomer(db, klassId),
          await seedCustomer(db, klassId),
        ];
        const bare: [string, string] = [
          await seedCustomer(db, klassId),
          await seedCustomer(db, klassId),
        ];
        // Baseline and API alternate within the run, so both see the same load.
        const readMs = await bareRead(db, bare);
        const { jobId, previewMs, confirmMs } = await mergeOnce(app, headers, pair);
        const sqlMs = await bareMove(db, bare);
        const finished = await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers });
        if (finished.json<{ result: { indexPending: boolean } }>().result.indexPending)
          indexPending++;
        return { confirmMs, sqlMs, previewMs, readMs };
      },
      { warmup: 3, runs: 7, check: ['confirmMs', 'previewMs'] },
    );

    console.log(
      `\nmerge of 2 × ${CONVERSATIONS + KOBJECTS} items (${CONVERSATIONS} conversations × 2 messages + ${KOBJECTS} KObjects each)`,
    );
    console.log(machineLine());
    printMeasured(
      'confirm → completed (index current), against bare SQL moving the rows',
      measured,
      {
        labels: { confirmMs: 'confirm → completed', sqlMs: 'bare SQL move' },
        baseline: 'sqlMs',
      },
    );
    printMeasured('preview (POST → awaiting confirmation), against a bare SQL read', measured, {
      labels: { previewMs: 'preview', readMs: 'bare SQL read' },
      baseline: 'readMs',
    });
    console.log(`\nruns whose job completed before the search index was current: ${indexPending}`);
    const { medians } = measured.last;
    console.log(
      `targets: merge ≤ ${TARGET_MERGE_RATIO}× bare SQL: ${verdict(medians.confirmMs <= TARGET_MERGE_RATIO * medians.sqlMs)}; preview ≤ ${TARGET_PREVIEW_RATIO}× bare read: ${verdict(medians.previewMs <= TARGET_PREVIEW_RATIO * medians.readMs)}`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
