/**
 * Merge benchmark: two customers with 500 timeline items each (250
 * conversations with two messages, 250 KObjects), merged through the API and
 * the real workflow, against the bare SQL that moves the same rows.
 * Prints the median of several runs side by side. Run: `npm run bench:merge`.
 */
import os from 'node:os';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { mergeOnce, seedTimelineCustomer, withThrowawayApp } from './harness';

const RUNS = 7;
const CONVERSATIONS = 250;
const KOBJECTS = 250;

const seedCustomer = (db: Database, klassId: string) =>
  seedTimelineCustomer(db, klassId, { conversations: CONVERSATIONS, kobjects: KOBJECTS });

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  await withThrowawayApp('bench-merge', async ({ app, db, headers }) => {
    const klass = await db.execute<{ id: string }>(
      sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
    );
    const klassId = klass.rows[0]!.id;

    const previewMs: number[] = [];
    let indexPending = 0;
    const workflowMs: number[] = [];
    const sqlMs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const [source, target] = [await seedCustomer(db, klassId), await seedCustomer(db, klassId)];
      const {
        jobId,
        previewMs: preview,
        confirmMs,
      } = await mergeOnce(app, headers, [source, target]);
      previewMs.push(preview);
      workflowMs.push(confirmMs);
      const finished = await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}`, headers });
      if (finished.json<{ result: { indexPending: boolean } }>().result.indexPending)
        indexPending++;

      const [bareSource, bareTarget] = [
        await seedCustomer(db, klassId),
        await seedCustomer(db, klassId),
      ];
      const bareStart = performance.now();
      await db.transaction(async (tx) => {
        await tx.execute(
          sql`select id from customers where id in (${bareSource}, ${bareTarget}) order by id for update`,
        );
        await tx.execute(
          sql`update conversations set customer_id = ${bareTarget} where customer_id = ${bareSource}`,
        );
        await tx.execute(
          sql`update kobjects set customer_id = ${bareTarget} where customer_id = ${bareSource}`,
        );
        await tx.execute(sql`delete from customers where id = ${bareSource}`);
      });
      sqlMs.push(performance.now() - bareStart);
    }

    const format = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
    console.log(
      `\nmerge of 2 × ${CONVERSATIONS + KOBJECTS} items (${CONVERSATIONS} conversations × 2 messages + ${KOBJECTS} KObjects each), ${RUNS} runs`,
    );
    console.log(
      `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
    );
    console.log('                                   median ms   runs (ms)');
    console.log(
      `confirm → completed (workflow)     ${median(workflowMs).toFixed(0).padStart(9)}   ${format(workflowMs)}`,
    );
    console.log(
      `preview (start → awaiting confirm) ${median(previewMs).toFixed(0).padStart(9)}   ${format(previewMs)}`,
    );
    console.log(
      `bare SQL moving the same rows      ${median(sqlMs).toFixed(0).padStart(9)}   ${format(sqlMs)}`,
    );
    console.log(`runs whose job completed before the search index was current: ${indexPending}`);
    console.log(
      `\ntargets: confirm → completed ≤ 200 ms: ${median(workflowMs) <= 200 ? 'met' : 'NOT met'}; preview ≤ 100 ms: ${median(previewMs) <= 100 ? 'met' : 'NOT met'}`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
