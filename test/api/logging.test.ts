import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { errorLogView } from '../../api/logging';
import { users } from '../../db/schema';
import { testConfig, userWithKey } from '../helpers';

let lines: string[] = [];
const stream = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    lines.push(chunk.toString('utf8'));
    callback();
  },
});

let app: Awaited<ReturnType<typeof buildApp>>;
let key: string;
beforeAll(async () => {
  app = await buildApp({ config: testConfig({ LOG_LEVEL: 'info' }), logStream: stream });
  key = (await userWithKey(app.db, { isAdmin: true })).key;
});
afterAll(() => app.close());

const get = (url: string) =>
  app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });

describe('the API log', () => {
  it('never writes query strings or unmatched paths', async () => {
    lines = [];
    const secret = `ada.${randomUUID().slice(0, 8)}@example.com`;
    await get(`/v1/search/customers?q=${encodeURIComponent(secret)}`);
    await get(`/v1/customers?cursor=${secret}`);
    await get(`/v1/no-such-route/${secret}`);
    const log = lines.join('');
    expect(log).toContain('"route":"/v1/search/customers"');
    expect(log).toContain('"route":"(no route)"');
    expect(log).not.toContain(secret);
    expect(log).not.toContain(encodeURIComponent(secret));
  });

  it('writes database errors without the values they quote', async () => {
    const email = `grace.${randomUUID().slice(0, 8)}@example.com`;
    await app.db.insert(users).values({ name: 'Grace', email });
    const error = await app.db
      .insert(users)
      .values({ name: 'Grace', email })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String((error as Error).message)).toContain(email);
    const view = JSON.stringify(errorLogView(error));
    expect(view).toContain('users_email_unique');
    expect(view).not.toContain(email);
  });
});
