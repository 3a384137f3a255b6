/**
 * Merge benchmark: two customers with 500 timeline items each (250
 * conversations with two messages, 250 KObjects), merged through the API and
 * the real workflow, against bare SQL in the same run: reading the same items
 * (the preview's baseline) and moving the same rows (the merge's baseline).
 * Beside them, the floors in the same runs (bench/floors.ts): a do-nothing
 * workflow of the confirm's shape (Temporal's round trips), Meilisearch
 * applying the same documents (the index wait), and the preview's own
 * transaction called directly (what the preview must do in Postgres).
 * Warm-up, then rounds until two agree within 15 % (`bench/measure.ts`).
 * Run: `npm run bench:merge`.
 */
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { createJob } from '../db/queries/job-rows';
import { confirmableOperations } from '../operations';
import { createSearchClient } from '../search/client';
import { jobWorkflowId } from '../workflows/contracts';
import { meiliFloor, startTemporalFloor } from './floors';
import {
  bareMergeMove,
  bareMergeRead,
  mergeOnce,
  seedTimelineCustomer,
  withThrowawayApp,
} from './harness';
import { machineLine, measure, printMeasured, verdict } from './measure';

const CONVERSATIONS = 250;
const KOBJECTS = 250;
const TARGET_MERGE_RATIO = 12;
const TARGET_PREVIEW_RATIO = 6;

const seedCustomer = (db: Database, klassId: string) =>
  seedTimelineCustomer(db, klassId, { conversations: CONVERSATIONS, kobjects: KOBJECTS });

/** The preview's own transaction, called directly on a pending job row: what the preview must do in Postgres. */
async function previewTransaction(
  db: Database,
  userId: string,
  [source, target]: [string, string],
): Promise<number> {
  const id = randomUUID();
  await createJob(db, {
    id,
    type: 'merge',
    startedBy: userId,
    params: { sourceCustomerId: source, targetCustomerId: target, itemLimit: 10_000 },
    workflowId: jobWorkflowId('merge', id),
  });
  const started = performance.now();
  const outcome = await confirmableOperations.merge.prepare(db, id, new Date(Date.now() + 60_000));
  if (outcome.status !== 'awaiting_confirmation') throw new Error(`preview ${outcome.status}`);
  const ms = performance.now() - started;
  await db.execute(sql`delete from jobs where id = ${id}`);
  return ms;
}

async function main() {
  await withThrowawayApp('bench-merge', async ({ app, db, headers, config }) => {
    const meili = createSearchClient(config.meili);
    const floor = await startTemporalFloor(config, app.temporal);
    const users = await db.execute<{ id: string }>(sql`select id from users limit 1`);
    const userId = users.rows[0]!.id;
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
        const readMs = await bareMergeRead(db, bare);
        const previewTxMs = await previewTransaction(db, userId, bare);
        const { jobId, previewMs, confirmMs } = await mergeOnce(app, headers, pair);
        const sqlMs = await bareMergeMove(db, bare);
        const temporalMs = await floor.confirmShaped();
        const moved = await db.execute<{ kind: string; id: string }>(sql`
          select 'conversation' as kind, id from conversations where customer_id = ${bare[1]}
          union all select 'kobject', id from kobjects where customer_id = ${bare[1]}`);
        const of = (kind: string) => moved.rows.filter((r) => r.kind === kind).map((r) => r.id);
        const meiliMs = await meiliFloor(db, meili, config.meili.indexPrefix, {
          customer: bare,
          conversation: of('conversation'),
          kobject: of('kobject'),
        });
        const finished = await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers });
        if (finished.json<{ result: { indexPending: boolean } }>().result.indexPending)
          indexPending++;
        return {
          confirmMs,
          sqlMs,
          temporalMs,
          meiliMs,
          floorMs: sqlMs + temporalMs + meiliMs,
          previewMs,
          readMs,
          previewTxMs,
        };
      },
      { warmup: 3, runs: 7, check: ['confirmMs', 'previewMs'] },
    );
    await floor.stop();

    console.log(
      `\nmerge of 2 × ${CONVERSATIONS + KOBJECTS} items (${CONVERSATIONS} conversations × 2 messages + ${KOBJECTS} KObjects each)`,
    );
    console.log(machineLine());
    printMeasured(
      'confirm → completed (index current), against bare SQL moving the rows',
      measured,
      {
        labels: {
          confirmMs: 'confirm → completed',
          sqlMs: 'bare SQL move',
          temporalMs: 'floor: do-nothing workflow, same shape',
          meiliMs: 'floor: Meilisearch, same documents',
          floorMs: 'floor: SQL + Temporal + Meilisearch',
        },
        baseline: 'sqlMs',
      },
    );
    printMeasured('confirm → completed, against its floor', measured, {
      labels: { confirmMs: 'confirm → completed', floorMs: 'floor: SQL + Temporal + Meilisearch' },
      baseline: 'floorMs',
    });
    printMeasured('preview (POST → awaiting confirmation), against a bare SQL read', measured, {
      labels: {
        previewMs: 'preview',
        readMs: 'bare SQL read',
        previewTxMs: "floor: the preview's transaction alone",
      },
      baseline: 'readMs',
    });
    printMeasured("preview, against its own transaction's floor", measured, {
      labels: { previewMs: 'preview', previewTxMs: "the preview's transaction alone" },
      baseline: 'previewTxMs',
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
