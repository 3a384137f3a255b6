import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { eventually } from '../helpers';

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: inject('serviceEnv').DATABASE_URL });
  await client.connect();
});
afterAll(() => client.end());

describe('the embedded PostgreSQL server log', () => {
  it('records a unique violation without the values or the statement', async () => {
    const { rows } = await client.query<{ data_directory: string }>('show data_directory');
    const logFile = path.join(path.dirname(rows[0]!.data_directory), 'logs', 'postgres.log');
    const email = `erase.me.${randomUUID().slice(0, 8)}@example.com`;
    const insert = `insert into users (name, email) values ('Erase Me', $1)`;
    await client.query(insert, [email]);
    await expect(client.query(insert, [email])).rejects.toThrow(/duplicate key/);
    const marker = `marker-${randomUUID()}`;
    await client.query(`do $$ begin raise warning '${marker}'; end $$`);

    const log = await eventually(async () => {
      const text = readFileSync(logFile, 'utf8');
      return text.includes(marker) ? text : undefined;
    });
    expect(log).toContain('duplicate key value violates unique constraint "users_email_unique"');
    expect(log).not.toContain(email);
    expect(log).not.toContain('Erase Me');
  });
});
