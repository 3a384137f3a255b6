import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys } from '../../db/schema';
import { problemOf, startTestApp, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const newUser = () => ({
  name: 'Grace Hopper',
  email: `${randomUUID()}@example.com`,
  permissions: ['customers.merge'],
});

describe('users and API keys', () => {
  it('lets an admin create a user with a permission set, issue a key shown once, and revoke it', async () => {
    const created = await t.call('POST', '/v1/users', { body: newUser() });
    expect(created.statusCode).toBe(201);
    const user = created.json<{ id: string; permissions: string[]; isAdmin: boolean }>();
    expect(user).toMatchObject({ permissions: ['customers.merge'], isAdmin: false });

    const issued = await t.call('POST', `/v1/users/${user.id}/api-keys`, {
      body: { name: 'integration' },
    });
    expect(issued.statusCode).toBe(201);
    const { key, id: keyId } = issued.json<{ key: string; id: string }>();
    expect(key).toMatch(/^cust_/);

    const [stored] = await t.db.select().from(apiKeys).where(eq(apiKeys.id, keyId));
    expect(stored!.hash).not.toContain(key);
    expect(JSON.stringify(stored)).not.toContain(key);

    const listed = await t.call('GET', `/v1/users/${user.id}/api-keys`);
    expect(listed.body).not.toContain(key);
    expect(listed.json<{ items: unknown[] }>().items).toHaveLength(1);

    const me = await t.call('GET', '/v1/me', { key });
    expect(me.json()).toMatchObject({ id: user.id });

    const revoked = await t.call('DELETE', `/v1/users/${user.id}/api-keys/${keyId}`);
    expect(revoked.statusCode).toBe(204);
    expect((await t.call('GET', '/v1/me', { key })).statusCode).toBe(401);
    expect((await t.call('DELETE', `/v1/users/${user.id}/api-keys/${keyId}`)).statusCode).toBe(204);
  });

  it('refuses a duplicate email with 409 USER_EMAIL_TAKEN', async () => {
    const body = newUser();
    expect((await t.call('POST', '/v1/users', { body })).statusCode).toBe(201);
    const again = await t.call('POST', '/v1/users', {
      body: { ...body, email: body.email.toUpperCase() },
    });
    expect(again.statusCode).toBe(409);
    expect(problemOf(again).code).toBe('USER_EMAIL_TAKEN');
  });

  it('refuses an unknown permission and unknown fields with 400', async () => {
    const badPermission = await t.call('POST', '/v1/users', {
      body: { ...newUser(), permissions: ['everything'] },
    });
    expect(badPermission.statusCode).toBe(400);
    expect(problemOf(badPermission).code).toBe('VALIDATION_FAILED');
    const extra = await t.call('POST', '/v1/users', { body: { ...newUser(), role: 'root' } });
    expect(extra.statusCode).toBe(400);
  });

  it('answers 404 for keys of an unknown user or a key of someone else', async () => {
    const missing = await t.call('POST', `/v1/users/${randomUUID()}/api-keys`, {
      body: { name: 'x' },
    });
    expect(missing.statusCode).toBe(404);
    expect(problemOf(missing).code).toBe('USER_NOT_FOUND');
    const other = await t.call('DELETE', `/v1/users/${t.adminId}/api-keys/${randomUUID()}`);
    expect(problemOf(other).code).toBe('API_KEY_NOT_FOUND');
  });
});
