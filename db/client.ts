import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema';

export type Database = NodePgDatabase<typeof schema>;
/** A transaction handle; data-access functions take `Database | Transaction`. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Queryable = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
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
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}
