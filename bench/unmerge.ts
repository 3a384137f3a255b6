/**
 * Undo benchmark: two customers with 500 timeline items each (250
 * conversations with two messages, 250 KObjects) merged, then the merge
 * undone, both through the API and the real workflow. Baselines, in the same
 * run, on another pair of the same size: bare SQL reading both customers'
 * items (the merge preview's baseline), moving the source's rows to the
 * target and deleting the source (the merge's), reading the moved rows by ID
 * (the undo preview's) and putting the source back under its own ID with its
 * rows moved back (the undo's). Warm-up, then rounds until two agree within
 * 15 % (`bench/measure.ts`). Run: `npm run bench:unmerge`.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { uuidArray } from '../db/sql';
import {
  bareMergeMove,
  bareMergeRead,
  mergeOnce,
  previewAndConfirm,
  seedTimelineCustomer,
  withThrowawayApp,
} from './harness';
import { machineLine, measure, printMeasured, timed } from './measure';

const ITEMS = { conversations: 250, kobjects: 250 };

/** The source's rows, as the merge journal would hold them (read untimed). */
async function itemsOf(db: Database, customerId: string) {
  const conversations = await db.execute<{ id: string }>(
    sql`select id from conversations where customer_id = ${customerId}`,
  );
  const kobjects = await db.execute<{ id: string }>(
    sql`select id from kobjects where customer_id = ${customerId}`,
  );
  const customer = await db.execute<{ name: string }>(
    sql`select name from customers where id = ${customerId}`,
  );
  return {
    name: customer.rows[0]!.name,
    conversations: conversations.rows.map((r) => r.id),
    kobjects: kobjects.rows.map((r) => r.id),
  };
}

type Items = Awaited<ReturnType<typeof itemsOf>>;

const bareReadMoved = (db: Database, target: string, items: Items) =>
  timed(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select * from customers where id = ${target}`);
      await tx.execute(
        sql`select id, customer_id from conversations where id = any(${uuidArray(items.conversations)})`,
      );
      await tx.execute(
        sql`select id, customer_id from kobjects where id = any(${uuidArray(items.kobjects)})`,
      );
    }),
  );

const bareMoveBack = (db: Database, [source, target]: [string, string], items: Items) =>
  timed(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select id from customers where id = ${target} for update`);
      await tx.execute(sql`insert into customers (id, name) values (${source}, ${items.name})`);
      await tx.execute(
        sql`update conversations set customer_id = ${source} where id = any(${uuidArray(items.conversations)})`,
      );
      await tx.execute(
        sql`update kobjects set customer_id = ${source} where id = any(${uuidArray(items.kobjects)})`,
      );
    }),
  );

async function main() {
  console.log(`at start: ${machineLine()}`);
  await withThrowawayApp('bench-unmerge', async ({ app, db, headers }) => {
    const klass = await db.execute<{ id: string }>(
      sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
    );
    const klassId = klass.rows[0]!.id;
    const seed = () => seedTimelineCustomer(db, klassId, ITEMS);

    const measured = await measure(
      async () => {
        const pair: [string, string] = [await seed(), await seed()];
        const bare: [string, string] = [await seed(), await seed()];
        const items = await itemsOf(db, bare[0]);
        // API steps and their baselines alternate, so both see the same load.
        const readMs = await bareMergeRead(db, bare);
        const merged = await mergeOnce(app, headers, pair);
        const moveMs = await bareMergeMove(db, bare);
        const readMovedMs = await bareReadMoved(db, bare[1], items);
        const undone = await previewAndConfirm(app, headers, {
          previewUrl: `/v1/merges/${merged.jobId}/undo`,
          payload: {},
          confirmPath: 'unmerges',
        });
        const moveBackMs = await bareMoveBack(db, bare, items);
        return {
          mergePreviewMs: merged.previewMs,
          readMs,
          mergeMs: merged.confirmMs,
          moveMs,
          undoPreviewMs: undone.previewMs,
          readMovedMs,
          undoMs: undone.confirmMs,
          moveBackMs,
        };
      },
      { warmup: 2, runs: 5, check: ['mergePreviewMs', 'mergeMs', 'undoPreviewMs', 'undoMs'] },
    );

    console.log(
      `\nmerge, then its undo, of 2 × ${ITEMS.conversations + ITEMS.kobjects} items (${ITEMS.conversations} conversations × 2 messages + ${ITEMS.kobjects} KObjects each)`,
    );
    console.log(machineLine());
    printMeasured('undo: confirm → completed, against bare SQL moving the rows back', measured, {
      labels: { undoMs: 'undo: confirm → completed', moveBackMs: 'bare SQL move back' },
      baseline: 'moveBackMs',
    });
    printMeasured('undo: preview, against bare SQL reading the moved rows', measured, {
      labels: { undoPreviewMs: 'undo: preview', readMovedMs: 'bare SQL read by ID' },
      baseline: 'readMovedMs',
    });
    printMeasured('merge: confirm → completed, against bare SQL moving the rows', measured, {
      labels: { mergeMs: 'merge: confirm → completed', moveMs: 'bare SQL move' },
      baseline: 'moveMs',
    });
    printMeasured('merge: preview, against a bare SQL read', measured, {
      labels: { mergePreviewMs: 'merge: preview', readMs: 'bare SQL read' },
      baseline: 'readMs',
    });
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
