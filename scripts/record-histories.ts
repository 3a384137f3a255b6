/**
 * Records one history of every workflow type into test/workflows/histories/,
 * from real runs against throw-away services. The replay test replays them
 * against the current workflow code, so a change that would break a workflow
 * already running fails CI. Re-record only when every workflow recorded by
 * the old code has finished (or the change is guarded with `patched`).
 * Run: `npm run record:histories`.
 */
import proto from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withThrowawayApp } from '../bench/harness';
import { projectRoot } from '../stack';

const out = path.join(projectRoot, 'test/workflows/histories');

async function main() {
  await withThrowawayApp(
    'record',
    async ({ app, headers }) => {
      const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) => {
        const response = await app.inject({
          method,
          url,
          headers,
          ...(body ? { payload: body } : {}),
        });
        if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.body}`);
        return response.json<
          Record<string, unknown> & { id: string; job: { id: string; workflowId: string } }
        >();
      };
      const customer = async () => (await call('POST', '/v1/customers', { name: 'Recorded' })).id;
      const conversation = async (customerId: string) =>
        (await call('POST', `/v1/customers/${customerId}/conversations`, { channel: 'email' })).id;
      await call('POST', '/v1/klasses', { name: 'recorded', title: 'Recorded' });
      const kobject = async (customerId: string) =>
        (
          await call('POST', `/v1/customers/${customerId}/kobjects`, {
            klass: 'recorded',
            title: 'R',
          })
        ).id;

      const recorded: Record<string, string> = {};
      const [a, b, c] = [await customer(), await customer(), await customer()];
      const counted = await call('POST', '/v1/diagnostics/timeline-count', { customerId: a });
      recorded['count-timeline-completed'] = counted.workflowId as string;
      const merge = await call('POST', '/v1/merges', { sourceCustomerId: a, targetCustomerId: b });
      await call('POST', `/v1/merges/${merge.job.id}/confirm`);
      recorded['merge-completed'] = merge.job.workflowId;
      const cancelled = await call('POST', '/v1/merges', {
        sourceCustomerId: b,
        targetCustomerId: c,
      });
      await call('POST', `/v1/merges/${cancelled.job.id}/cancel`);
      recorded['merge-cancelled'] = cancelled.job.workflowId;
      const split = await call('POST', '/v1/splits', {
        sourceCustomerId: b,
        targetCustomerId: c,
        conversationIds: [await conversation(b)],
      });
      await call('POST', `/v1/splits/${split.job.id}/confirm`);
      recorded['split-completed'] = split.job.workflowId;
      const move = await call('POST', '/v1/kobject-moves', {
        kobjectIds: [await kobject(b)],
        targetCustomerId: c,
      });
      await call('POST', `/v1/kobject-moves/${move.job.id}/confirm`);
      recorded['kobject-move-completed'] = move.job.workflowId;
      const deletion = await call('DELETE', `/v1/conversations/${await conversation(c)}`, {
        confirm: 'DELETE',
      });
      recorded['delete-completed'] = deletion.job.workflowId;
      const bulk = await call('POST', '/v1/bulk-deletes', {
        entity: 'customers',
        ids: [b, c, randomUUID()],
        confirm: 'DELETE',
      });
      for (;;) {
        const job = await call('GET', `/v1/jobs/${bulk.job.id}`);
        if (job.status === 'completed') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      recorded['bulk-delete-completed'] = bulk.job.workflowId;

      mkdirSync(out, { recursive: true });
      for (const [name, workflowId] of Object.entries(recorded)) {
        const history = await app.temporal.workflow.getHandle(workflowId).fetchHistory();
        // Binary protobuf: exact, and readable by any SDK's History.decode.
        writeFileSync(
          path.join(out, `${name}.history.bin`),
          proto.temporal.api.history.v1.History.encode(history).finish(),
        );
        console.log(`recorded ${name} (${workflowId})`);
      }
    },
    { env: { TEMPORAL_TASK_QUEUE: 'record' } },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
