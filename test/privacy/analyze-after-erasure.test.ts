/**
 * After an erasure commits, the tables it touched are analysed, so that
 * Postgres's column statistics (`pg_stats`: most common values, histogram
 * bounds) stop quoting the erased values. Each test first makes the values
 * common enough for ANALYZE to record them, and checks that it did. Other
 * people's rows stay in each table, as they do in production: ANALYZE of a
 * table left empty writes no statistics and leaves the old ones in place.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueWord, testConfig, type TestApp } from '../helpers';
import { jobWhenFinished, startJobTestApp } from '../job-helpers';
import { startBulkErasure } from './bulk-erasure';

let t: TestApp;
beforeAll(async () => {
  ({ t } = await startJobTestApp(testConfig({ BULK_SELECTION_LIMIT: '200' })));
});
afterAll(() => t.close());

/** Everything `pg_stats` says about a table's columns, as text. */
async function statisticsOf(table: string): Promise<string> {
  const result = await t.db.execute<{ stats: string | null }>(sql`
    select string_agg(concat_ws(' ', attname, most_common_vals::text, histogram_bounds::text,
                                most_common_elems::text), E'\n') as stats
    from pg_stats where schemaname = current_schema() and tablename = ${table}`);
  return result.rows[0]?.stats ?? '';
}

const COPIES = 150;
const BYSTANDERS = 200;

describe('column statistics after an erasure', () => {
  it('no longer quote the messages of a customer deleted on its own', async () => {
    const marker = uniqueWord('zqbody');
    const [customer, bystander] = await Promise.all(
      ['Someone', 'Bystander'].map((name) =>
        t.create('/v1/customers', { name: `${name} ${uniqueWord()}` }),
      ),
    );
    const [conversation, kept] = await Promise.all(
      [customer!, bystander!].map((owner) =>
        t.create(`/v1/customers/${owner.id}/conversations`, { channel: 'email', subject: 'Order' }),
      ),
    );
    await t.db.execute(sql`
      insert into messages (conversation_id, direction, body)
      select ${conversation!.id}::uuid, 'inbound'::message_direction, ${marker} from generate_series(1, ${COPIES})
      union all
      select ${kept!.id}::uuid, 'outbound'::message_direction, 'Reply ' || g from generate_series(1, ${BYSTANDERS}) g`);
    await t.db.execute(sql`analyze messages`);
    expect(await statisticsOf('messages')).toContain(marker);

    const response = await t.call('DELETE', `/v1/customers/${customer!.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect([200, 202], response.body).toContain(response.statusCode);
    const job = await jobWhenFinished(t, response.json<{ job: { id: string } }>().job.id);
    expect(job.status).toBe('completed');
    // The analysis runs once the job has settled, so the answer does not wait for it.
    await t.temporal.workflow.getHandle(`delete-${job.id}`).result();
    expect(
      (await t.db.execute(sql`select id from messages where conversation_id = ${conversation!.id}`))
        .rows,
    ).toEqual([]);

    expect(await statisticsOf('messages')).not.toContain(marker);
  });

  it('no longer quote the names and emails of customers erased in bulk', async () => {
    const marker = uniqueWord('zqname');
    const inserted = await t.db.execute<{ id: string }>(sql`
      insert into customers (name, emails)
      select ${`Ann ${marker}`}, ${JSON.stringify([{ address: `${marker}@example.org` }])}::jsonb
      from generate_series(1, ${COPIES}) returning id`);
    const ids = inserted.rows.map((row) => row.id);
    await t.db.execute(sql`
      insert into customers (name) select 'Bystander ' || g from generate_series(1, ${BYSTANDERS}) g`);
    await t.db.execute(sql`analyze customers`);
    const before = await statisticsOf('customers');
    expect(before).toContain(`Ann ${marker}`);
    expect(before).toContain(`${marker}@example.org`);

    const jobId = await startBulkErasure(t, { entity: 'customers', ids });
    const job = await jobWhenFinished(t, jobId, 60_000);
    expect(job.status).toBe('completed');
    const left = await t.db.execute(sql`select id from customers where name = ${`Ann ${marker}`}`);
    expect(left.rows).toEqual([]);

    expect(await statisticsOf('customers')).not.toContain(marker);
  });
});
