import { sql } from 'drizzle-orm';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client';
import { testConfig } from '../helpers';

/** Settles with 'closed', or with 'still waiting' if `close()` has not finished within `ms`. */
async function closesWithin(close: () => Promise<void>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  try {
    return await Promise.race([close().then(() => 'closed'), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the database pool', () => {
  it('takes back a client whose connection was lost before BEGIN: later transactions run and close() ends', async () => {
    // One client, so a client that never comes back leaves none for the next transaction.
    const database = createDatabase(testConfig().databaseUrl, {
      max: 1,
      connectionTimeoutMillis: 2_000,
    });
    try {
      await database.db.execute(sql`select 1`);
      // The server goes away just as the transaction checks its client out.
      database.pool.once('acquire', (client) => {
        (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
      });
      await expect(database.db.transaction((tx) => tx.execute(sql`select 1`))).rejects.toThrow();

      const next = await database.db.transaction(
        async (tx) => (await tx.execute<{ n: number }>(sql`select 2 as n`)).rows,
      );
      expect(next).toEqual([{ n: 2 }]);
    } finally {
      expect(await closesWithin(() => database.close(), 3_000)).toBe('closed');
    }
  });
});
