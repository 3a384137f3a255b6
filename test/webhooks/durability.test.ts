/**
 * Delivery survives what a production worker meets: being SIGKILLed in the
 * middle of a POST (a real worker process), its LISTEN connection dropped by
 * Postgres, and old events piling up (retention).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomer } from '../../db/queries/customers';
import { deleteOldWebhookEvents, recordWebhookEvent } from '../../db/queries/webhooks';
import { webhookEndpoints } from '../../db/schema';
import { startWebhookDispatcher } from '../../webhooks/dispatcher';
import { eventually, startTestApp, type TestApp } from '../helpers';
import { spawnWorker } from '../workflows/spawn-worker';
import { Receiver, type ReceivedEvent } from './receiver';

let t: TestApp;
const receivers: Receiver[] = [];
const endpointIds: string[] = [];
const workers: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  for (const id of endpointIds)
    await t.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

async function subscribedReceiver(eventTypes: string[]): Promise<{ r: Receiver; id: string }> {
  const r = await new Receiver().start();
  receivers.push(r);
  const endpoint = await t.create<{ id: string }>('/v1/webhooks', { url: r.url, eventTypes });
  endpointIds.push(endpoint.id);
  return { r, id: endpoint.id };
}

const newCustomer = async () =>
  (await createCustomer(t.db, { name: 'Durable', emails: [], phones: [] })).id;

const ofCustomers = (ids: string[]) => (e: ReceivedEvent) =>
  ids.includes(e.data.customerId as string);

/**
 * Short lease, so a dead worker's lease runs out within seconds (the lease is
 * at least the timeout + 2 s). The timeout leaves room for a loaded CI machine:
 * a receiver answering late counts as a failure and doubles the next wait.
 */
const workerEnv = {
  WEBHOOK_TIMEOUT: '5s',
  WEBHOOK_LEASE: '1s',
  WEBHOOK_POLL_INTERVAL: '1s',
  WEBHOOK_BACKOFF_BASE: '1s',
};

describe('at-least-once delivery', () => {
  it('survives a worker SIGKILLed mid-delivery: another worker sends the event again, then the rest in order', async () => {
    const { r, id } = await subscribedReceiver(['customer.created']);
    const [first, second, third] = [await newCustomer(), await newCustomer(), await newCustomer()];
    let inFlight: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (inFlight = resolve));
    r.answer = (event, seen) => {
      if (event.data.customerId === first && seen === 0) {
        inFlight();
        return 'hang';
      }
      // The second fails twice after the crash, then is accepted.
      if (event.data.customerId === second && seen < 2) return 503;
      return 200;
    };
    const env = { ...workerEnv, TEST_WEBHOOK_ENDPOINTS: id };
    const doomed = await spawnWorker(`webhooks-${randomUUID()}`, workers, env);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      hung,
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error('the first event never reached the receiver from the doomed worker')),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    doomed.kill('SIGKILL');
    await new Promise((resolve) => doomed.once('exit', resolve));
    // The POST was in flight: no attempt was recorded, the delivery is still pending.
    // (Tests share the database: other files' customers reach this endpoint too.)
    const deliveriesOf = async (customerIds: string[]) =>
      (
        await t.db.execute<{ customer: string; status: string; attempts: number }>(sql`
          select e.payload->>'customerId' as customer, d.status, d.attempts
          from webhook_deliveries d join webhook_events e on e.id = d.event_id
          where d.endpoint_id = ${id}
            and e.payload->>'customerId' in (${sql.join(
              customerIds.map((c) => sql`${c}`),
              sql`, `,
            )})
          order by d.seq`)
      ).rows;
    const [pending] = await deliveriesOf([first]);
    expect(pending).toMatchObject({ status: 'pending', attempts: 0 });

    await spawnWorker(`webhooks-${randomUUID()}`, workers, env);
    const ids = [first, second, third];
    const accepted = await eventually(
      async () => {
        const got = r.accepted(ofCustomers(ids));
        return got.length >= 3 ? got : undefined;
      },
      60_000,
      'the three events after the crash',
    ).catch(async (error: unknown) => {
      // Say where the queue stood: which delivery held the others back, and why.
      const queue = await t.db.execute(sql`
        select e.payload->>'customerId' as customer, d.status, d.attempts,
               d.last_status_code, d.next_attempt_at
        from webhook_deliveries d join webhook_events e on e.id = d.event_id
        where d.endpoint_id = ${id} order by d.seq limit 20`);
      const answers = r.received.map((x) => ({
        customer: x.event.data.customerId,
        answered: x.answered,
      }));
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}; queue: ${JSON.stringify(queue.rows)}; answers: ${JSON.stringify(answers)}`,
      );
    });
    expect(accepted.map((x) => x.event.data.customerId)).toEqual(ids);
    const tries = (customerId: string) =>
      r.received.filter((x) => x.event.data.customerId === customerId).map((x) => x.answered);
    expect(tries(first)).toEqual(['hang', 200]);
    expect(tries(second)).toEqual([503, 503, 200]);
    expect(tries(third)).toEqual([200]);
    // Same event ID each time: the consumer's idempotency key.
    const firstIds = r.received.filter((x) => x.event.data.customerId === first);
    expect(new Set(firstIds.map((x) => x.event.id)).size).toBe(1);
    expect((await deliveriesOf(ids)).map((row) => row.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    // Each wait above is bounded with its own message; on a busy machine two worker starts alone take up to a minute.
  }, 180_000);
});

describe('the LISTEN connection', () => {
  it('is reopened after Postgres drops it, and queued events go out at once again', async () => {
    const { r } = await subscribedReceiver(['customer.created']);
    const name = `webhooks-listen-${randomUUID().slice(0, 8)}`;
    // Polling once a minute: only a notification can deliver within seconds.
    const dispatcher = startWebhookDispatcher({
      db: t.db,
      onlyEndpoints: () => endpointIds,
      databaseUrl: t.config.databaseUrl,
      config: { ...t.config.webhooks, pollMs: 60_000 },
      listenerName: name,
    });
    try {
      const listenerPid = () =>
        eventually(
          async () => {
            const rows = await t.db.execute<{ pid: number }>(
              sql`select pid from pg_stat_activity where application_name = ${name}
                  and query ilike 'listen%'`,
            );
            return rows.rows[0]?.pid;
          },
          15_000,
          'the LISTEN connection',
        );
      const before = await listenerPid();
      const early = await newCustomer();
      await eventually(async () => r.accepted(ofCustomers([early]))[0], 10_000, 'before the drop');

      await t.db.execute(sql`select pg_terminate_backend(${before})`);
      const after = await eventually(
        async () => {
          const pid = await listenerPid();
          return pid !== before ? pid : undefined;
        },
        15_000,
        'a new LISTEN connection',
      );
      expect(after).not.toBe(before);
      const late = await newCustomer();
      await eventually(async () => r.accepted(ofCustomers([late]))[0], 10_000, 'after the drop');
    } finally {
      await dispatcher.stop();
    }
  });
});

describe('retention', () => {
  it('removes old events nothing waits on, keeping pending deliveries and unacknowledged erasures', async () => {
    const { id } = await subscribedReceiver(['job.completed', 'customer.erasure_requested']);
    // Paused: events still queue for it, and no dispatcher sends them; the rows are set by hand below.
    await t.db
      .update(webhookEndpoints)
      .set({ status: 'paused' })
      .where(eq(webhookEndpoints.id, id));
    const marker = randomUUID();
    const kinds = ['delivered-old', 'pending-old', 'erasure-unacked-old', 'delivered-new'] as const;
    const eventIds: Record<string, string> = {};
    for (const kind of kinds) {
      const erasure = kind === 'erasure-unacked-old';
      await recordWebhookEvent(
        t.db,
        erasure ? 'customer.erasure_requested' : 'job.completed',
        erasure
          ? { customerId: randomUUID(), marker, kind }
          : { jobId: randomUUID(), marker, kind },
      );
      const row = await t.db.execute<{ id: string }>(
        sql`select id from webhook_events where payload->>'marker' = ${marker} and payload->>'kind' = ${kind}`,
      );
      eventIds[kind] = row.rows[0]!.id;
    }
    const old = [
      eventIds['delivered-old']!,
      eventIds['pending-old']!,
      eventIds['erasure-unacked-old']!,
    ];
    await t.db.execute(sql`update webhook_events set occurred_at = now() - interval '40 days'
      where id in (${sql.join(
        old.map((x) => sql`${x}::uuid`),
        sql`, `,
      )})`);
    await t.db.execute(sql`update webhook_deliveries set status = 'delivered', delivered_at = now()
      where endpoint_id = ${id} and event_id <> ${eventIds['pending-old']!}::uuid`);

    const dispatcher = startWebhookDispatcher({
      db: t.db,
      onlyEndpoints: () => endpointIds,
      config: { ...t.config.webhooks, retentionMs: 30 * 86_400_000 },
    });
    try {
      const left = await eventually(
        async () => {
          const rows = await t.db.execute<{ kind: string }>(
            sql`select payload->>'kind' as kind from webhook_events where payload->>'marker' = ${marker}`,
          );
          return rows.rows.length === 3 ? rows.rows.map((row) => row.kind).sort() : undefined;
        },
        10_000,
        'the old delivered event to be removed',
      );
      expect(left).toEqual(['delivered-new', 'erasure-unacked-old', 'pending-old']);
    } finally {
      await dispatcher.stop();
    }
    // Once acknowledged, the old erasure goes too; the deliveries went with their events.
    await t.db.execute(sql`update webhook_deliveries set acknowledged_at = now()
      where event_id = ${eventIds['erasure-unacked-old']!}::uuid`);
    expect(await deleteOldWebhookEvents(t.db, 30 * 86_400_000)).toBeGreaterThanOrEqual(1);
    const deliveries = await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from webhook_deliveries where endpoint_id = ${id}`,
    );
    expect(deliveries.rows).toEqual([{ n: 2 }]);
  });
});
