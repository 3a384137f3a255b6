import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import path from 'node:path';
import pg from 'pg';
import type { Database, Transaction } from './client';
import { dataMigrations as allDataMigrations } from './data-migrations';
import * as schema from './schema';

const committedMigrations = path.join(import.meta.dirname, 'migrations');

/** Where migrations report, one line at a time: IDs and counts only, never personal data. */
export type MigrationLog = (line: string) => void;

export interface DataMigrationContext {
  /** The migration's transaction: it is recorded as applied in the same one. */
  tx: Transaction;
  log: MigrationLog;
  /** The environment, for settings a migration depends on (PHONE_DEFAULT_REGION). */
  env: Record<string, string | undefined>;
  /** Rows a migration reads and writes per statement, so a big table never sits in memory whole. */
  batchSize: number;
}

/**
 * A change of data that needs the application's code (parsing a phone number
 * needs libphonenumber, not SQL). It runs after the SQL migrations, once, in
 * one transaction with the record that it ran; it must also be idempotent (a
 * rerun changes nothing already changed), because a row written by an older
 * process after the migration may need it again.
 */
export interface DataMigration {
  /** Stable: the record in `data_migrations` is keyed by it. */
  name: string;
  /** Returns its report, stored with the record: IDs and counts only. */
  run(context: DataMigrationContext): Promise<Record<string, unknown>>;
}

export interface MigrateOptions {
  log?: MigrationLog;
  env?: Record<string, string | undefined>;
  batchSize?: number;
  /** Where the SQL migrations are; by default the committed ones (a test migrates from an older state). */
  migrationsFolder?: string;
  /** The data migrations to run, in order; by default those of db/data-migrations. */
  dataMigrations?: readonly DataMigration[];
}

/**
 * "schema/relation … already exists, skipping": Drizzle's own bookkeeping
 * (CREATE … IF NOT EXISTS) raises these on every run, and they say nothing.
 */
const ALREADY_EXISTS = new Set(['42P06', '42P07']);

/**
 * Applies the committed SQL migrations through a dedicated single connection,
 * then the data migrations not yet recorded. A NOTICE a SQL migration raises
 * (`RAISE NOTICE` in a DO block) goes to `log` as it arrives.
 */
export async function runMigrations(
  url: string,
  {
    log = () => undefined,
    env = process.env,
    batchSize = 1_000,
    dataMigrations = allDataMigrations,
    migrationsFolder = committedMigrations,
  }: MigrateOptions = {},
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('notice', (notice) => {
    if (!ALREADY_EXISTS.has(notice.code ?? ''))
      log(`${notice.severity ?? 'NOTICE'}: ${notice.message}`);
  });
  await client.connect();
  try {
    const db = drizzle({ client, schema });
    await migrate(db, { migrationsFolder });
    await runDataMigrations(db, dataMigrations, { log, env, batchSize });
  } finally {
    await client.end();
  }
}

/** Runs each data migration not yet recorded, in order, each in its own transaction. */
export async function runDataMigrations(
  db: Database,
  migrations: readonly DataMigration[],
  {
    log,
    env,
    batchSize,
  }: { log: MigrationLog; env: Record<string, string | undefined>; batchSize: number },
): Promise<void> {
  for (const migration of migrations) {
    await db.transaction(async (tx) => {
      // Two processes migrating at once take turns; the second finds the record and skips.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('custodian.data_migrations'))`);
      const applied = await tx
        .select({ name: schema.dataMigrations.name })
        .from(schema.dataMigrations)
        .where(sql`${schema.dataMigrations.name} = ${migration.name}`);
      if (applied.length > 0) return;
      const say: MigrationLog = (line) => log(`data migration ${migration.name}: ${line}`);
      const started = Date.now();
      const report = await migration.run({ tx, log: say, env, batchSize });
      await tx.insert(schema.dataMigrations).values({ name: migration.name, report });
      say(`applied in ${Date.now() - started} ms`);
    });
  }
}
