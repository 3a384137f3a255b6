/**
 * Listing a job's customers in Temporal UI: what a bulk erasure of N customers
 * (JOB_CUSTOMERS, 20,000 by default) pays to be findable by each of them —
 * one `jobCustomersWorkflow` per 40 customers, started 8 at a time by a step
 * of the bulk erasure's workflow of its own, beside the wait for the
 * confirmation and the erasure itself (before the patch
 * 'bulk-delete-list-customers-aside' the preview step ran it, and the
 * confirmation waited for it: ~8 s at 20,000). Prints seconds to start every
 * part and until every part completed (after one warm-up run), to set beside
 * `npm run bench:erase`'s erasure of the same number of customers.
 * Run: `npm run bench:job-customers`.
 */
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { listJobCustomers } from '../lib/job-workflows';
import { MAX_SEARCHABLE_CUSTOMERS } from '../workflows/contracts';
import { withThrowawayApp } from './harness';

const CUSTOMERS = Number(process.env.JOB_CUSTOMERS ?? 20_000);

async function completedParts(client: Client, jobId: string): Promise<number> {
  let n = 0;
  for await (const w of client.workflow.list({
    query: `CustodianJobId = '${jobId}' AND ExecutionStatus = 'Completed'`,
  })) {
    if (w.status.name === 'COMPLETED') n++;
  }
  return n;
}

await withThrowawayApp('job-customers', async ({ config }) => {
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const parts = Math.ceil(CUSTOMERS / MAX_SEARCHABLE_CUSTOMERS);
  const run = async () => {
    const job = {
      id: randomUUID(),
      type: 'bulk_delete',
      workflowId: `bulk-delete-bench-${randomUUID()}`,
      startedBy: null,
    };
    const ids = Array.from({ length: CUSTOMERS }, () => randomUUID());
    const t0 = performance.now();
    await listJobCustomers(client, config.temporal.taskQueue, job, ids);
    const started = (performance.now() - t0) / 1000;
    while ((await completedParts(client, job.id)) < parts) await sleep(200);
    return { started, completed: (performance.now() - t0) / 1000 };
  };
  await run(); // warm-up
  const measured = [await run(), await run()];
  console.log(
    `\nListing ${CUSTOMERS} customers in ${parts} parts; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log('                    started (s)   all completed (s)   parts/s');
  for (const [i, m] of measured.entries()) {
    console.log(
      `run ${i + 1}              ${m.started.toFixed(2).padStart(8)}   ${m.completed.toFixed(2).padStart(14)}   ${(parts / m.completed).toFixed(0).padStart(8)}`,
    );
  }
  await connection.close();
});
