/**
 * Undo benchmark: two customers with 500 timeline items each (250
 * conversations with two messages, 250 KObjects) merged, then the merge
 * undone, both through the API and the real workflow. Prints the median of
 * several runs of each, side by side. Run: `npm run bench:unmerge`.
 */
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { mergeOnce, previewAndConfirm, seedTimelineCustomer, withThrowawayApp } from './harness';

const RUNS = 5;
const ITEMS = { conversations: 250, kobjects: 250 };

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  await withThrowawayApp('bench-unmerge', async ({ app, db, headers }) => {
    const klass = await db.execute<{ id: string }>(
      sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
    );
    const klassId = klass.rows[0]!.id;
    const ms = {
      mergePreview: [] as number[],
      merge: [] as number[],
      undoPreview: [] as number[],
      undo: [] as number[],
    };
    for (let run = 0; run < RUNS; run++) {
      const pair: [string, string] = [
        await seedTimelineCustomer(db, klassId, ITEMS),
        await seedTimelineCustomer(db, klassId, ITEMS),
      ];
      const merged = await mergeOnce(app, headers, pair);
      ms.mergePreview.push(merged.previewMs);
      ms.merge.push(merged.confirmMs);
      const undone = await previewAndConfirm(app, headers, {
        previewUrl: `/v1/merges/${merged.jobId}/undo`,
        payload: {},
        confirmPath: 'unmerges',
      });
      ms.undoPreview.push(undone.previewMs);
      ms.undo.push(undone.confirmMs);
    }

    const row = (label: string, values: number[]) =>
      `${label.padEnd(36)}${median(values).toFixed(0).padStart(9)}   ${values.map((v) => v.toFixed(0)).join(', ')}`;
    console.log(
      `\nmerge, then its undo, of 2 × ${ITEMS.conversations + ITEMS.kobjects} items (${ITEMS.conversations} conversations × 2 messages + ${ITEMS.kobjects} KObjects each), ${RUNS} runs`,
    );
    console.log(
      `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
    );
    console.log(`${''.padEnd(36)}median ms   runs (ms)`);
    console.log(row('merge: preview', ms.mergePreview));
    console.log(row('merge: confirm → completed', ms.merge));
    console.log(row('undo: preview', ms.undoPreview));
    console.log(row('undo: confirm → completed', ms.undo));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
