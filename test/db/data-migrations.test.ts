/**
 * Data migrations: the runner records each one and runs it once, rolls back
 * one that fails, and forwards NOTICEs to its log; phones-e164 gives rows
 * written in the old shape their E.164 form and reports, by ID, what it
 * could not parse.
 */
import { eq, inArray, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { phonesE164 } from '../../db/data-migrations/phones-e164';
import { runDataMigrations, runMigrations, type DataMigration } from '../../db/migrate';
import { customers, dataMigrations, searchOutbox } from '../../db/schema';
import { testConfig } from '../helpers';

let database: DatabaseHandle;
let url: string;
beforeAll(() => {
  url = testConfig().databaseUrl;
  database = createDatabase(url, { max: 2 });
});
afterAll(() => database.close());

describe('the data migration runner', () => {
  it('runs a migration once, in a transaction with its record and report', async () => {
    const name = `test-${randomUUID()}`;
    let runs = 0;
    const migration: DataMigration = {
      name,
      async run({ tx, log }) {
        runs++;
        await tx.execute(sql`select 1`);
        log('did its work');
        return { touched: 3 };
      },
    };
    const lines: string[] = [];
    const options = { log: (line: string) => lines.push(line), env: {}, batchSize: 10 };
    await runDataMigrations(database.db, [migration], options);
    await runDataMigrations(database.db, [migration], options);

    expect(runs).toBe(1);
    const [record] = await database.db
      .select()
      .from(dataMigrations)
      .where(eq(dataMigrations.name, name));
    expect(record?.report).toEqual({ touched: 3 });
    expect(lines[0]).toBe(`data migration ${name}: did its work`);
    expect(lines[1]).toMatch(new RegExp(`^data migration ${name}: applied in \\d+ ms$`));
    expect(lines).toHaveLength(2);
  });

  it('records nothing and keeps nothing of a migration that fails', async () => {
    const name = `test-${randomUUID()}`;
    const customerName = `Rolled back ${name}`;
    const failing: DataMigration = {
      name,
      async run({ tx }) {
        await tx.insert(customers).values({ name: customerName });
        throw new Error('halfway');
      },
    };
    await expect(
      runDataMigrations(database.db, [failing], { log: () => undefined, env: {}, batchSize: 10 }),
    ).rejects.toThrow('halfway');
    expect(
      await database.db.select().from(dataMigrations).where(eq(dataMigrations.name, name)),
    ).toEqual([]);
    expect(
      await database.db.select().from(customers).where(eq(customers.name, customerName)),
    ).toEqual([]);
  });

  it('forwards a NOTICE raised on the migration connection (RAISE NOTICE in a DO block) to the log', async () => {
    const name = `test-${randomUUID()}`;
    const lines: string[] = [];
    await runMigrations(url, {
      log: (line) => lines.push(line),
      dataMigrations: [
        {
          name,
          async run({ tx }) {
            await tx.execute(sql.raw(`do $$ begin raise notice 'granted % sets', 7; end $$`));
            return {};
          },
        },
      ],
    });
    // The SQL migrations are applied already: Drizzle's "already exists, skipping" is not forwarded.
    expect(lines[0]).toBe('NOTICE: granted 7 sets');
    expect(lines[1]).toMatch(new RegExp(`^data migration ${name}: applied in \\d+ ms$`));
    expect(lines).toHaveLength(2);
  });
});

describe('phones-e164', () => {
  it('gives phones stored in the old shape their E.164 form, keeps what does not parse as typed and reports it by ID', async () => {
    const old = (...numbers: string[]) =>
      numbers.map((number, i) => ({ number, preferred: i === 0 }));
    const rows = await database.db
      .insert(customers)
      .values([
        { name: 'International', phones: old('+44 20 7946 0958') as never },
        { name: 'National', phones: old('020 7946 0958', '0044 20 7946 0959') as never },
        { name: 'Half broken', phones: old('+.(045)5401.)', '+1 202 555 0123') as never },
        { name: 'Broken', phones: old('+1 555 0100') as never },
        { name: 'Without phones' },
        {
          name: 'Migrated already',
          phones: [{ number: '+44 20 7946 0960', e164: '+442079460960', preferred: true }],
        },
      ])
      .returning({ id: customers.id });
    const [international, national, halfBroken, broken, without, migrated] = rows.map(
      (row) => row.id,
    );
    const lines: string[] = [];
    // The search outbox is read before commit: a worker of another test file may drain it after.
    const run = () =>
      database.db.transaction(async (tx) => {
        const report = await phonesE164.run({
          tx,
          log: (line) => lines.push(line),
          env: { PHONE_DEFAULT_REGION: 'GB' },
          // Smaller than the rows, so that the migration crosses batches.
          batchSize: 2,
        });
        const queued = await tx
          .select({ id: searchOutbox.entityId })
          .from(searchOutbox)
          .where(
            inArray(
              searchOutbox.entityId,
              rows.map((row) => row.id),
            ),
          );
        return { report, queued: queued.map((row) => row.id) };
      });

    const { report, queued } = await run();

    const phonesOf = async (id: string | undefined) =>
      (await database.db.select().from(customers).where(eq(customers.id, id!)))[0]?.phones;
    expect(await phonesOf(international)).toEqual([
      { number: '+44 20 7946 0958', e164: '+442079460958', preferred: true },
    ]);
    expect(await phonesOf(national)).toEqual([
      { number: '020 7946 0958', e164: '+442079460958', preferred: true },
      { number: '0044 20 7946 0959', e164: '+442079460959', preferred: false },
    ]);
    expect(await phonesOf(halfBroken)).toEqual([
      { number: '+.(045)5401.)', e164: null, preferred: true },
      { number: '+1 202 555 0123', e164: '+12025550123', preferred: false },
    ]);
    expect(await phonesOf(broken)).toEqual([
      { number: '+1 555 0100', e164: null, preferred: true },
    ]);
    expect(await phonesOf(without)).toEqual([]);
    expect(await phonesOf(migrated)).toEqual([
      { number: '+44 20 7946 0960', e164: '+442079460960', preferred: true },
    ]);

    expect(report).toEqual({
      region: 'GB',
      customersUpdated: 4,
      phonesParsed: 4,
      phonesUnparseable: 2,
      customersWithUnparseablePhones: 2,
      unparseableCustomerIds: [halfBroken, broken].sort(),
    });
    const summary = lines.at(-1)!;
    expect(summary).toContain('4 phones of 4 customers gained their E.164 form');
    expect(summary).toContain(`in 2 customers: ${[halfBroken, broken].sort().join(', ')}`);
    for (const typed of ['5401.)', '555 0100', '5550100', '020 7946', '79460958', '2025550123'])
      expect(lines.join('\n')).not.toContain(typed);

    // Only the national spelling changed its key, so only that customer's document is rebuilt.
    expect(queued).toEqual([national]);

    // A rerun finds nothing left to do, and the unparsed numbers stay as they are.
    const rerun = await run();
    expect(rerun.report).toMatchObject({
      customersUpdated: 0,
      phonesParsed: 0,
      phonesUnparseable: 0,
    });
    expect(await phonesOf(broken)).toEqual([
      { number: '+1 555 0100', e164: null, preferred: true },
    ]);
  });
});
