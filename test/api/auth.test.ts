import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { apiKeys } from '../../db/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApp, userWithKey, type TestApp } from '../helpers';

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
    expect((await t.call('GET', '/v1/me', { key: user.key })).statusCode).toBe(200);
    expect((await lastUsed())!.getTime()).toBeGreaterThan(Date.now() - 60_000);
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
    expect((await t.call('GET', '/health', { key: null })).json()).toEqual({
      status: 'ok',
      postgres: 'ok',
      temporal: 'ok',
    });
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
