import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema';

export type Database = NodePgDatabase<typeof schema>;
/** A transaction handle; data-access functions take `Database | Transaction`. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Queryable = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  /** The pool behind `db`, for shutdown and for tests that cut its connections. */
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(
  url: string,
  {
    max = 10,
    connectionTimeoutMillis = 5_000,
  }: { max?: number; connectionTimeoutMillis?: number } = {},
): DatabaseHandle {
  // Without a connection timeout a request waits forever for a server that
  // does not answer (or for a free client): it fails instead, and the API
  // answers 503 DATABASE_UNAVAILABLE.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis,
    keepAlive: true,
  });
  // A client that loses its connection (server restart) must not crash the
  // process: the pool reports idle ones here, and a client in use reports on
  // itself; the query in flight rejects either way and its caller decides.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = drizzle({ client: pool, schema });
  db.transaction = poolTransaction(pool);
  return { db, pool, close: () => pool.end() };
}

/**
 * Drizzle's pool transaction sends BEGIN before its try/finally, so a
 * connection lost between check-out and BEGIN never goes back to the pool:
 * each outage leaks clients until the pool is empty and `end()` waits forever.
 * Here the check-out is ours and is always released (a broken client is
 * dropped by the pool); Drizzle runs the transaction on that one client.
 */
function poolTransaction(pool: pg.Pool): Database['transaction'] {
  const onClient = new WeakMap<pg.PoolClient, Database>();
  return async (run, config) => {
    const client = await pool.connect();
    const effects: (() => void)[] = [];
    let result;
    try {
      let db = onClient.get(client);
      if (!db) {
        db = drizzle({ client, schema });
        onClient.set(client, db);
      }
      result = await db.transaction((tx) => {
        committing.set(tx, effects);
        return run(tx);
      }, config);
    } finally {
      client.release();
    }
    for (const effect of effects) effect();
    return result;
  };
}

/** The effects waiting for each open transaction of `poolTransaction` to commit. */
const committing = new WeakMap<object, (() => void)[]>();

/**
 * Runs `effect` once what `q` wrote is committed: at once on the pool (each
 * statement commits by itself), after the commit for a transaction begun by
 * `db.transaction`, never if that transaction rolls back. For in-process
 * bookkeeping that must not count work a rollback undid (metrics); a
 * transaction made elsewhere (a savepoint) runs it at once.
 */
export function afterCommit(q: Queryable, effect: () => void): void {
  const effects = committing.get(q);
  if (effects) effects.push(effect);
  else effect();
}
