/**
 * Records histories of every workflow type, and of every way each one ends,
 * into test/workflows/histories/, from real runs against throw-away services.
 * The replay test replays them against the current workflow code, so a change
 * that would break a workflow already running fails CI. Re-record only when
 * every workflow recorded by the old code has finished (or the change is
 * guarded with `patched`): histories already on file are kept unless
 * `--overwrite` is given, so recording a new branch never replaces what older
 * code recorded.
 * Run: `npm run record:histories` (`npm run record:histories -- --overwrite`).
 * After a change guarded with `patched`, record the new paths beside the old
 * ones as a generation of their own: `npm run record:histories -- --as <name>`
 * writes `<branch>.<name>.history.bin` for every branch.
 *
 * How the branches that need a fault are reached, with real API calls only:
 * - expired: a second API instance on the same services with a 1-second confirm TTL;
 * - rejected: a merge over the merge limit (that instance's limit is 1), a split
 *   or move out of a customer with an open GDPR request (ERASURE_PENDING);
 * - failed: a Postgres trigger that raises a data exception (SQLSTATE 22023, a
 *   fault no retry can fix) when a listed row is updated or deleted;
 * - cancelled bulk erasure: a selected customer's row is held locked, so the job
 *   waits on it (busy) while it is cancelled;
 * - continued-as-new: more batches (of 1, BULK_BATCH_SIZE) than one run takes;
 * - reconciled: a workflow terminated as from Temporal UI, then the reconciler's
 *   Schedule triggered for its job;
 * - attribute clearing: a definition removed with ?clearValues=true;
 * - export: a customer exported with a 2-second EXPORT_TTL, recorded once its timer deleted it.
 * - a moved clock: an access request paused, resumed, extended, exported and delivered;
 *   the delivery ends its export's workflow (export-request-closed).
 * - unmerge: the completed merge undone, and undone again (rejected).
 */
import proto from '@temporalio/proto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../api/app';
import { uuidArray } from '../db/sql';
import { ensureReconcileSchedule } from '../lib/job-workflows';
import { jobCustomersWorkflowId } from '../workflows/contracts';
import { withThrowawayApp } from '../bench/harness';
import { projectRoot } from '../stack';
import { DAY_MS } from '../domain/gdpr';

const out = path.join(projectRoot, 'test/workflows/histories');
const overwrite = process.argv.includes('--overwrite');
/** `--as <generation>`: every branch recorded again, under names of that generation. */
const generation = (() => {
  const at = process.argv.indexOf('--as');
  const name = at >= 0 ? process.argv[at + 1] : undefined;
  if (at >= 0 && !/^[a-z0-9-]+$/.test(name ?? ''))
    throw new Error('--as needs a generation name of lowercase letters, digits and dashes');
  return name;
})();
/** More than one bulk-erasure run takes (workflows/bulk-delete.ts BATCHES_PER_RUN) at one object per batch. */
const CONTINUED_SELECTION = 205;

type Body = Record<string, unknown> & {
  id: string;
  status: string;
  workflowId: string;
  job: Job;
};
interface Job {
  id: string;
  status: string;
  workflowId: string;
  preview: { count?: number } | null;
  error: { code: string } | null;
}

/** Waits for a condition without a fixed sleep: polls until `check` returns a value. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function main() {
  await withThrowawayApp(
    'record',
    async ({ app, config, db, headers }) => {
      // Same services and worker; only what the API puts into a job differs. Its exports
      // last an hour: an access request's export must still be there to be delivered.
      const strict = await buildApp({
        config: { ...config, confirmTtlMs: 1000, mergeItemLimit: 1, exportTtlMs: 3_600_000 },
        logger: false,
      });
      try {
        /** Calls the API; `expect` lists the statuses that are the point of the call. */
        const call = async (
          method: 'GET' | 'POST' | 'DELETE',
          url: string,
          body?: object,
          { via = app, expect }: { via?: FastifyInstance; expect?: number[] } = {},
        ) => {
          const response = await via.inject({
            method,
            url,
            headers,
            ...(body ? { payload: body } : {}),
          });
          const ok = expect ? expect.includes(response.statusCode) : response.statusCode < 300;
          if (!ok) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
          return response.json<Body>();
        };
        const getJob = async (id: string) =>
          (await call('GET', `/v1/jobs/${id}`)) as unknown as Job;
        const jobEnded = (id: string, status: string) =>
          until(`job ${id} ${status}`, async () => {
            const job = await getJob(id);
            if (job.status === status) return job;
            if (['completed', 'failed', 'rejected', 'expired', 'cancelled'].includes(job.status))
              throw new Error(`job ${id} ended ${job.status}, not ${status}`);
            return undefined;
          });
        const customer = async () => (await call('POST', '/v1/customers', { name: 'Recorded' })).id;
        const conversation = async (customerId: string) =>
          (await call('POST', `/v1/customers/${customerId}/conversations`, { channel: 'email' }))
            .id;
        await call('POST', '/v1/klasses', { name: 'recorded', title: 'Recorded' });
        const kobject = async (customerId: string) =>
          (
            await call('POST', `/v1/customers/${customerId}/kobjects`, {
              klass: 'recorded',
              title: 'R',
            })
          ).id;
        const gdprRequest = async (customerId: string, receivedAt?: Date) =>
          call('POST', '/v1/gdpr-requests', {
            customerId,
            ...(receivedAt ? { receivedAt: receivedAt.toISOString() } : {}),
          });

        /**
         * Starts a bulk erasure, confirming it with the previewed count when the
         * API asks for confirmation (the previewed bulk erasure of issue 19). A
         * confirm may answer with the job's failure, when that is quick: `failing`.
         */
        const startBulkErasure = async (body: object, { failing = false } = {}) => {
          let { job } = await call('POST', '/v1/bulk-deletes', { ...body, confirm: 'DELETE' });
          while (job.status === 'pending') {
            await sleep(50);
            job = await getJob(job.id);
          }
          if (job.status === 'awaiting_confirmation') {
            await call(
              'POST',
              `/v1/bulk-deletes/${job.id}/confirm`,
              { confirm: 'DELETE', count: job.preview?.count },
              failing ? { expect: [200, 202, 409] } : {},
            );
          }
          return job;
        };

        // Any listed row refuses to be updated or deleted, with an error no retry can fix.
        await db.execute(sql`create table recorded_faults (id uuid primary key)`);
        await db.execute(sql`
          create function recorded_fault() returns trigger language plpgsql as $$
          begin
            if exists (select 1 from recorded_faults where id = old.id) then
              raise exception 'recorded fault' using errcode = '22023';
            end if;
            if tg_op = 'DELETE' then return old; end if;
            return new;
          end $$`);
        for (const table of ['customers', 'conversations', 'kobjects']) {
          await db.execute(
            sql.raw(`create trigger recorded_fault before update or delete on ${table}
              for each row execute function recorded_fault()`),
          );
        }
        const breakRow = (id: string) =>
          db.execute(sql`insert into recorded_faults (id) values (${id}::uuid)`);

        /** Workflow ID (and run, for a run that continued as new) of each history, by file name. */
        const recorded: Record<string, { workflowId: string; runId?: string }> = {};
        const record = (name: string, workflowId: string, runId?: string) => {
          recorded[name] = { workflowId, ...(runId ? { runId } : {}) };
        };

        // Completed, and the cancelled merge.
        const [a, b, c] = [await customer(), await customer(), await customer()];
        const counted = await call('POST', '/v1/diagnostics/timeline-count', { customerId: a });
        record('count-timeline-completed', counted.workflowId);
        const merge = await call('POST', '/v1/merges', {
          sourceCustomerId: a,
          targetCustomerId: b,
        });
        await call('POST', `/v1/merges/${merge.job.id}/confirm`);
        record('merge-completed', merge.job.workflowId);
        // The merge undone, then an undo of it again: refused at the preview (MERGE_ALREADY_UNDONE).
        const undone = await call('POST', `/v1/merges/${merge.job.id}/undo`, {});
        await call('POST', `/v1/unmerges/${undone.job.id}/confirm`);
        record('unmerge-completed', undone.job.workflowId);
        await call('POST', `/v1/merges/${merge.job.id}/undo`, {}, { expect: [409] });
        const [undoneAgain] = (
          await db.execute<{ workflow_id: string }>(
            sql`select workflow_id from jobs where type = 'unmerge' and status = 'rejected'`,
          )
        ).rows;
        record('unmerge-rejected', undoneAgain!.workflow_id);
        const cancelled = await call('POST', '/v1/merges', {
          sourceCustomerId: b,
          targetCustomerId: c,
        });
        await call('POST', `/v1/merges/${cancelled.job.id}/cancel`);
        record('merge-cancelled', cancelled.job.workflowId);
        const split = await call('POST', '/v1/splits', {
          sourceCustomerId: b,
          targetCustomerId: c,
          conversationIds: [await conversation(b)],
        });
        await call('POST', `/v1/splits/${split.job.id}/confirm`);
        record('split-completed', split.job.workflowId);
        const move = await call('POST', '/v1/kobject-moves', {
          kobjectIds: [await kobject(b)],
          targetCustomerId: c,
        });
        await call('POST', `/v1/kobject-moves/${move.job.id}/confirm`);
        record('kobject-move-completed', move.job.workflowId);
        const deletion = await call('DELETE', `/v1/conversations/${await conversation(c)}`, {
          confirm: 'DELETE',
        });
        record('delete-completed', deletion.job.workflowId);
        // A conversation's owner is listed for the bulk job in a part of its own.
        const listing = await startBulkErasure({
          entity: 'conversations',
          ids: [await conversation(b)],
        });
        await jobEnded(listing.id, 'completed');
        record('job-customers-listed', jobCustomersWorkflowId(listing.workflowId, 1));
        const bulk = await startBulkErasure({ entity: 'customers', ids: [b, c, randomUUID()] });
        await jobEnded(bulk.id, 'completed');
        record('bulk-delete-completed', bulk.workflowId);

        const rejectedJobOf = async (name: string, type: string) => {
          const [job] = (
            await db.execute<{ id: string; workflow_id: string }>(
              sql`select id, workflow_id from jobs where type = ${type} and status = 'rejected'
                  order by created_at desc limit 1`,
            )
          ).rows;
          if (!job) throw new Error(`no rejected ${type} job`);
          record(name, job.workflow_id);
        };

        // Expired: previews nobody confirms within the strict instance's TTL.
        const [d, e] = [await customer(), await customer()];
        const expiring = [
          [
            'merge-expired',
            await call(
              'POST',
              '/v1/merges',
              { sourceCustomerId: d, targetCustomerId: e },
              { via: strict },
            ),
          ],
          [
            'split-expired',
            await call(
              'POST',
              '/v1/splits',
              {
                sourceCustomerId: d,
                targetCustomerId: e,
                conversationIds: [await conversation(d)],
              },
              { via: strict },
            ),
          ],
          [
            'kobject-move-expired',
            await call(
              'POST',
              '/v1/kobject-moves',
              { kobjectIds: [await kobject(d)], targetCustomerId: e },
              { via: strict },
            ),
          ],
        ] as const;
        for (const [name, started] of expiring) {
          await jobEnded(started.job.id, 'expired');
          record(name, started.job.workflowId);
        }

        // A bulk erasure's preview: left to expire, cancelled before its confirmation,
        // and refused because nothing it names exists (422 NOTHING_SELECTED).
        const unconfirmed = await call(
          'POST',
          '/v1/bulk-deletes',
          { entity: 'customers', ids: [await customer()] },
          { via: strict },
        );
        await jobEnded(unconfirmed.job.id, 'expired');
        record('bulk-delete-expired', unconfirmed.job.workflowId);
        const withdrawn = await call('POST', '/v1/bulk-deletes', {
          entity: 'customers',
          ids: [await customer()],
        });
        await call('POST', `/v1/bulk-deletes/${withdrawn.job.id}/cancel`);
        record('bulk-delete-cancelled-unconfirmed', withdrawn.job.workflowId);
        await call(
          'POST',
          '/v1/bulk-deletes',
          { entity: 'customers', ids: [randomUUID()] },
          { expect: [422] },
        );
        await rejectedJobOf('bulk-delete-rejected', 'bulk_delete');

        // Rejected at the preview: a merge over the limit (2 items > 1), and a split and
        // a move out of a customer whose erasure request is open. The API answers 4xx.
        const [f, g] = [await customer(), await customer()];
        await conversation(f);
        await kobject(f);
        await call(
          'POST',
          '/v1/merges',
          { sourceCustomerId: f, targetCustomerId: g },
          { via: strict, expect: [422] },
        );
        await rejectedJobOf('merge-rejected', 'merge');
        const pendingErasure = await customer();
        const splitAway = await conversation(pendingErasure);
        const moveAway = await kobject(pendingErasure);
        const heldRequest = await gdprRequest(pendingErasure);
        await call(
          'POST',
          '/v1/splits',
          { sourceCustomerId: pendingErasure, targetCustomerId: g, conversationIds: [splitAway] },
          { expect: [409] },
        );
        await rejectedJobOf('split-rejected', 'split');
        await call(
          'POST',
          '/v1/kobject-moves',
          { kobjectIds: [moveAway], targetCustomerId: g },
          { expect: [409] },
        );
        await rejectedJobOf('kobject-move-rejected', 'kobject_move');
        // The request is declined: that is the declined request's history.
        await call('POST', `/v1/gdpr-requests/${heldRequest.id}/decline`, { reason: 'legal_hold' });
        await app.temporal.workflow.getHandle(heldRequest.workflowId).result();
        record('gdpr-request-declined', heldRequest.workflowId);

        // Failed at execution: the row each job changes refuses the change.
        const [h, k] = [await customer(), await customer()];
        const failingMerge = await call('POST', '/v1/merges', {
          sourceCustomerId: h,
          targetCustomerId: k,
        });
        await breakRow(h);
        await call('POST', `/v1/merges/${failingMerge.job.id}/confirm`, undefined, {
          expect: [409],
        });
        await jobEnded(failingMerge.job.id, 'failed');
        record('merge-failed', failingMerge.job.workflowId);
        const [m, n] = [await customer(), await customer()];
        const brokenConversation = await conversation(m);
        const failingSplit = await call('POST', '/v1/splits', {
          sourceCustomerId: m,
          targetCustomerId: n,
          conversationIds: [brokenConversation],
        });
        await breakRow(brokenConversation);
        await call('POST', `/v1/splits/${failingSplit.job.id}/confirm`, undefined, {
          expect: [409],
        });
        await jobEnded(failingSplit.job.id, 'failed');
        record('split-failed', failingSplit.job.workflowId);
        const brokenKObject = await kobject(m);
        const failingMove = await call('POST', '/v1/kobject-moves', {
          kobjectIds: [brokenKObject],
          targetCustomerId: n,
        });
        await breakRow(brokenKObject);
        await call('POST', `/v1/kobject-moves/${failingMove.job.id}/confirm`, undefined, {
          expect: [409],
        });
        await jobEnded(failingMove.job.id, 'failed');
        record('kobject-move-failed', failingMove.job.workflowId);
        const undeletable = await conversation(n);
        await breakRow(undeletable);
        await call(
          'DELETE',
          `/v1/conversations/${undeletable}`,
          { confirm: 'DELETE' },
          { expect: [409] },
        );
        const [failedDelete] = (
          await db.execute<{ id: string; workflow_id: string }>(
            sql`select id, workflow_id from jobs where type = 'delete' and params->>'id' = ${undeletable}`,
          )
        ).rows;
        await jobEnded(failedDelete!.id, 'failed');
        record('delete-failed', failedDelete!.workflow_id);
        const unerasable = await customer();
        await breakRow(unerasable);
        const failingBulk = await startBulkErasure(
          { entity: 'customers', ids: [unerasable] },
          { failing: true },
        );
        await jobEnded(failingBulk.id, 'failed');
        record('bulk-delete-failed', failingBulk.workflowId);

        // A GDPR request whose erasure fails stays open and alerts; it is then declined.
        const failingRequest = await gdprRequest(unerasable);
        await call('POST', `/v1/gdpr-requests/${failingRequest.id}/erase`, undefined, {
          expect: [202],
        });
        const tracker = app.temporal.workflow.getHandle(failingRequest.workflowId);
        await until('the erasure-failed notice', async () => {
          const { events } = await tracker.fetchHistory();
          const notices = events!.filter(
            (event) =>
              event.activityTaskCompletedEventAttributes &&
              events!.find(
                (scheduled) =>
                  scheduled.eventId?.toString() ===
                  event.activityTaskCompletedEventAttributes!.scheduledEventId?.toString(),
              )?.activityTaskScheduledEventAttributes?.activityType?.name === 'sendNotice',
          );
          return notices.length > 0 ? true : undefined;
        });
        await call('POST', `/v1/gdpr-requests/${failingRequest.id}/decline`, { reason: 'other' });
        await tracker.result();
        record('gdpr-request-erasure-failed', failingRequest.workflowId);

        // Requests recorded late: one after the 7-day reminder's time (the 1-day one
        // still comes), one after its deadline (overdue at once); both then erased.
        for (const [name, daysAgo] of [
          ['gdpr-request-recorded-late', 25],
          ['gdpr-request-recorded-overdue', 31],
        ] as const) {
          const late = await gdprRequest(await customer(), new Date(Date.now() - daysAgo * DAY_MS));
          if (daysAgo > 30) {
            await until('the overdue mark', async () => {
              const request = await call('GET', `/v1/gdpr-requests/${late.id}`);
              return request.status === 'overdue' ? true : undefined;
            });
          }
          await call('POST', `/v1/gdpr-requests/${late.id}/erase`);
          await app.temporal.workflow.getHandle(late.workflowId).result();
          record(name, late.workflowId);
        }

        // An access request whose clock is stopped, restarted and extended, then delivered.
        const access = await call('POST', '/v1/privacy-requests', {
          customerId: await customer(),
          type: 'access',
          regulation: 'uk_gdpr',
        });
        await call('POST', `/v1/privacy-requests/${access.id}/pause`, {
          reason: 'awaiting_identity_verification',
        });
        const resumed = await call('POST', `/v1/privacy-requests/${access.id}/resume`, {});
        await call('POST', `/v1/privacy-requests/${access.id}/extend`, {
          reason: 'Recorded',
          dueAt: new Date(Date.parse(resumed.dueAt as string) + 10 * DAY_MS).toISOString(),
        });
        // Delivered from its export, which the delivery deletes: its workflow ends by signal.
        const accessExport = await call(
          'POST',
          `/v1/privacy-requests/${access.id}/export`,
          {},
          { via: strict, expect: [202] },
        );
        await jobEnded(accessExport.job.id, 'completed');
        await call('POST', `/v1/privacy-requests/${access.id}/deliver`, { method: 'portal' });
        await app.temporal.workflow.getHandle(access.workflowId).result();
        record('privacy-request-clock-moved', access.workflowId);
        await app.temporal.workflow.getHandle(accessExport.job.workflowId).result();
        record('export-request-closed', accessExport.job.workflowId);

        // Cancelled: the selected customers are held by another transaction, so the job
        // keeps finding them busy (each for a few tries); it is cancelled meanwhile, then
        // the rows are let go.
        const selection = [await customer(), await customer(), await customer()];
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let holding!: () => void;
        const locked = new Promise<void>((resolve) => (holding = resolve));
        const holder = db.transaction(async (tx) => {
          await tx.execute(
            sql`select id from customers where id = any(${uuidArray(selection)}) for update`,
          );
          holding();
          await released;
        });
        await locked;
        try {
          const cancelling = await startBulkErasure({ entity: 'customers', ids: selection });
          await call('POST', `/v1/bulk-deletes/${cancelling.id}/cancel`);
          release();
          await holder;
          await jobEnded(cancelling.id, 'cancelled');
          record('bulk-delete-cancelled', cancelling.workflowId);
        } finally {
          release();
          await holder;
        }

        // Continued as new: one object per batch, more batches than a run takes.
        const owner = await customer();
        const many: string[] = [];
        for (let i = 0; i < CONTINUED_SELECTION; i++) many.push(await conversation(owner));
        const long = await startBulkErasure({ entity: 'conversations', ids: many });
        await jobEnded(long.id, 'completed');
        const lastRun = await app.temporal.workflow.getHandle(long.workflowId).fetchHistory();
        const firstRunId =
          lastRun.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
        if (!firstRunId) throw new Error(`${long.workflowId} did not continue as new`);
        record('bulk-delete-continued-as-new', long.workflowId, firstRunId);
        record('bulk-delete-continued-run-completed', long.workflowId);

        // Reconciled: a merge awaiting confirmation is terminated (as from Temporal UI),
        // and the reconciler's Schedule, triggered, settles its job and tells its starter.
        const [p, q] = [await customer(), await customer()];
        const abandoned = await call('POST', '/v1/merges', {
          sourceCustomerId: p,
          targetCustomerId: q,
        });
        await app.temporal.workflow.getHandle(abandoned.job.workflowId).terminate('recorded');
        const scheduleId = `record-reconcile-${randomUUID()}`;
        await ensureReconcileSchedule(app.temporal, {
          taskQueue: config.temporal.taskQueue,
          intervalMs: DAY_MS,
          scheduleId,
          input: { jobIds: [abandoned.job.id] },
        });
        const schedule = app.temporal.schedule.getHandle(scheduleId);
        try {
          await schedule.trigger();
          const reconciler = await until('the reconciler run', async () => {
            const [run] = (await schedule.describe()).info.recentActions;
            return run?.action.workflow.workflowId;
          });
          await app.temporal.workflow.getHandle(reconciler).result();
          await jobEnded(abandoned.job.id, 'failed');
          record('reconcile-jobs-settled-terminated', reconciler);
        } finally {
          await schedule.delete();
        }

        // Attribute clearing: a removed definition's values cleared by a job, then the definition.
        const attribute = await call('POST', '/v1/attribute-definitions', {
          entity: 'customer',
          name: 'recorded',
          label: 'Recorded',
          type: 'text',
        });
        await call('POST', '/v1/customers', {
          name: 'Recorded',
          customAttributes: { recorded: 'x' },
        });
        const clearing = await call(
          'DELETE',
          `/v1/attribute-definitions/${attribute.id}?clearValues=true`,
          undefined,
          { expect: [202] },
        );
        await jobEnded(clearing.job.id, 'completed');
        record('attribute-clear-completed', clearing.job.workflowId);

        // A customer export: built, kept until its expiry (EXPORT_TTL 2s here), then deleted.
        const exported = await call(
          'POST',
          `/v1/customers/${await customer()}/exports`,
          {},
          { expect: [202] },
        );
        await jobEnded(exported.job.id, 'completed');
        await app.temporal.workflow.getHandle(exported.job.workflowId).result();
        record('export-expired', exported.job.workflowId);

        mkdirSync(out, { recursive: true });
        for (const [name, { workflowId, runId }] of Object.entries(recorded)) {
          const file = path.join(
            out,
            generation ? `${name}.${generation}.history.bin` : `${name}.history.bin`,
          );
          // A history on file proves the code that recorded it still replays: keep it.
          if (existsSync(file) && !overwrite) {
            console.log(`kept ${name} (already recorded; --overwrite replaces it)`);
            continue;
          }
          const history = await app.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
          // Binary protobuf: exact, and readable by any SDK's History.decode.
          writeFileSync(file, proto.temporal.api.history.v1.History.encode(history).finish());
          console.log(`recorded ${name} (${workflowId}${runId ? ` run ${runId}` : ''})`);
        }
      } finally {
        await strict.close();
      }
    },
    {
      env: {
        TEMPORAL_TASK_QUEUE: 'record',
        BULK_BATCH_SIZE: '1',
        BULK_SELECTION_LIMIT: String(CONTINUED_SELECTION),
        EXPORT_TTL: '2s',
      },
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
