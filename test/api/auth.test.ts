import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { API_KEY_CACHE_TTL_MS } from '../../api/plugins/auth';
import { apiKeys, permissionSets } from '../../db/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, problemOf, startTestApp, userWithKey, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('API keys', () => {
  it('records when a key was last used, at most once a minute', async () => {
    const user = await userWithKey(t.db);
    const lastUsed = async () =>
      (await t.db.select().from(apiKeys).where(eq(apiKeys.userId, user.id)))[0]!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    expect((await t.call('GET', '/v1/me', { key: user.key })).statusCode).toBe(200);
    const first = await lastUsed();
    expect(first).not.toBeNull();
    expect((await t.call('GET', '/v1/me', { key: user.key })).statusCode).toBe(200);
    expect(await lastUsed()).toEqual(first);
    await t.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now() - interval '2 minutes'` })
      .where(eq(apiKeys.userId, user.id));
    // A key this process has just checked is trusted for API_KEY_CACHE_TTL_MS without a read.
    await eventually(async () => {
      expect((await t.call('GET', '/v1/me', { key: user.key })).statusCode).toBe(200);
      const recorded = await lastUsed();
      return recorded!.getTime() > Date.now() - 60_000 ? recorded : undefined;
    }, API_KEY_CACHE_TTL_MS + 5_000);
  });

  it('applies a permission change or revocation made through this API process at the next request', async () => {
    const user = await userWithKey(t.db);
    const search = () => t.call('GET', '/v1/search/customers?q=nobody', { key: user.key });
    expect((await search()).statusCode).toBe(403);
    const granted = await t.call('PATCH', `/v1/permission-sets/${user.setId}`, {
      body: { permissions: ['searches.read', 'customers.read'] },
    });
    expect(granted.statusCode).toBe(200);
    // Past the permission check (the index itself may answer 503 in this file).
    expect((await search()).statusCode).not.toBe(403);

    const [key] = await t.db.select().from(apiKeys).where(eq(apiKeys.userId, user.id));
    const revoked = await t.call('DELETE', `/v1/users/${user.id}/api-keys/${key!.id}`);
    expect(revoked.statusCode).toBe(204);
    expect(problemOf(await search())).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('stops a key revoked or deleted by another API process within the key cache TTL', async () => {
    const revoked = await userWithKey(t.db);
    const deleted = await userWithKey(t.db);
    for (const user of [revoked, deleted]) {
      expect((await t.call('GET', '/v1/me', { key: user.key })).statusCode).toBe(200);
    }
    // Straight to Postgres, as another API process would: this one is not told.
    const started = Date.now();
    await t.db
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(eq(apiKeys.userId, revoked.id));
    await t.db.delete(apiKeys).where(eq(apiKeys.userId, deleted.id));
    for (const user of [revoked, deleted]) {
      await eventually(
        async () =>
          (await t.call('GET', '/v1/me', { key: user.key })).statusCode === 401 ? true : undefined,
        API_KEY_CACHE_TTL_MS + 2_000,
      );
    }
    expect(Date.now() - started).toBeLessThan(API_KEY_CACHE_TTL_MS + 2_000);
  });

  it('applies a permission change made by another API process within the key cache TTL', async () => {
    const user = await userWithKey(t.db);
    // Whether the permission check let the search through (the index itself may answer 503 here).
    const allowed = async () =>
      (await t.call('GET', '/v1/search/customers?q=nobody', { key: user.key })).statusCode !== 403;
    expect(await allowed()).toBe(false);
    const grant = async (permissions: string[]) => {
      await t.db
        .update(permissionSets)
        .set({ permissions })
        .where(eq(permissionSets.id, user.setId!));
      return Date.now();
    };
    let changed = await grant(['searches.read', 'customers.read']);
    await eventually(
      async () => ((await allowed()) ? true : undefined),
      API_KEY_CACHE_TTL_MS + 2_000,
    );
    expect(Date.now() - changed).toBeLessThan(API_KEY_CACHE_TTL_MS + 2_000);
    changed = await grant([]);
    await eventually(
      async () => ((await allowed()) ? undefined : true),
      API_KEY_CACHE_TTL_MS + 2_000,
    );
    expect(Date.now() - changed).toBeLessThan(API_KEY_CACHE_TTL_MS + 2_000);
  });

  it('answers 401 problem+json without an Authorization header', async () => {
    const response = await t.call('GET', '/v1/me', { key: null });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('Bearer');
    expect(problemOf(response)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it.each([
    ['a malformed key', 'not-a-key'],
    ['an unknown key', `cust_${'A'.repeat(43)}`],
  ])('answers 401 for %s', async (_what, key) => {
    const response = await t.call('GET', '/v1/me', { key });
    expect(response.statusCode).toBe(401);
    expect(problemOf(response).code).toBe('UNAUTHENTICATED');
  });

  it('answers 401 for a scheme other than Bearer', async () => {
    const response = await t.call('GET', '/v1/me', {
      key: null,
      headers: { authorization: `Basic ${t.adminKey}` },
    });
    expect(response.statusCode).toBe(401);
  });

  it('identifies the caller by a valid key', async () => {
    const response = await t.call('GET', '/v1/me');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: t.adminId, isAdmin: true });
  });

  it('answers 403 when the permission set lacks what the route needs', async () => {
    const member = await userWithKey(t.db, { permissions: ['searches.read'] });
    // An address of its own: a shared one could be created by another test file.
    const email = `mallory.${randomUUID()}@example.com`;
    const response = await t.call('POST', '/v1/users', {
      key: member.key,
      body: { name: 'Mallory', email },
    });
    expect(response.statusCode).toBe(403);
    expect(problemOf(response)).toMatchObject({ code: 'FORBIDDEN', permission: 'admin' });
    const users = await t.call('GET', '/v1/users');
    expect(users.json<{ items: { email: string }[] }>().items.map((u) => u.email)).not.toContain(
      email,
    );
  });

  it('keeps /health, /openapi.json and /docs open', async () => {
    const ready = { status: 'ok', postgres: 'ok', temporal: 'ok', search: 'ok' };
    expect((await t.call('GET', '/health', { key: null })).json()).toEqual(ready);
    expect((await t.call('GET', '/health/ready', { key: null })).json()).toEqual(ready);
    expect((await t.call('GET', '/health/live', { key: null })).json()).toEqual({ status: 'ok' });
    const spec = await t.call('GET', '/openapi.json', { key: null });
    expect(spec.statusCode).toBe(200);
    expect(Object.keys(spec.json<{ paths: object }>().paths)).toContain(
      '/v1/customers/{id}/timeline',
    );
    expect((await t.call('GET', '/docs/', { key: null })).statusCode).toBe(200);
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await t.call('GET', '/v1/nothing-here');
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).code).toBe('ROUTE_NOT_FOUND');
  });
});
