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

/** A permission set made through the API, for the users of one test. */
const setWith = async (permissions: string[]) =>
  (
    await t.create<{ id: string }>('/v1/permission-sets', {
      name: `set ${randomUUID()}`,
      permissions,
    })
  ).id;

const newUser = (permissionSetIds: string[] = []) => ({
  name: 'Grace Hopper',
  email: `${randomUUID()}@example.com`,
  permissionSetIds,
});

describe('users and API keys', () => {
  it('lets an admin create a user with a permission set, issue a key shown once, and revoke it', async () => {
    const setId = await setWith(['customers.read', 'customers.write', 'customers.merge']);
    const created = await t.call('POST', '/v1/users', { body: newUser([setId]) });
    expect(created.statusCode).toBe(201);
    const user = created.json<{ id: string; permissions: string[]; isAdmin: boolean }>();
    expect(user).toMatchObject({
      permissionSets: [{ id: setId }],
      permissions: ['customers.merge', 'customers.read', 'customers.write'],
      isAdmin: false,
    });

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

  it('refuses an unknown permission set with 422 and unknown fields with 400', async () => {
    const unknownSet = await t.call('POST', '/v1/users', { body: newUser([randomUUID()]) });
    expect(problemOf(unknownSet)).toMatchObject({ status: 422, code: 'PERMISSION_SET_NOT_FOUND' });
    const permissionsDirectly = await t.call('POST', '/v1/users', {
      body: { ...newUser(), permissions: ['customers.read'] },
    });
    expect(problemOf(permissionsDirectly)).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
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

  it('lets an admin change a user’s name, permissions and admin flag; the next request uses them', async () => {
    const user = await t.create<{ id: string }>('/v1/users', newUser());
    const { key } = await t.create<{ key: string }>(`/v1/users/${user.id}/api-keys`, {
      name: 'integration',
    });
    expect((await t.call('GET', '/v1/search/customers', { key })).statusCode).toBe(403);

    const searching = await setWith(['searches.read', 'customers.read']);
    const changed = await t.call('PATCH', `/v1/users/${user.id}`, {
      body: { name: 'Grace B. Hopper', permissionSetIds: [searching] },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({
      name: 'Grace B. Hopper',
      permissions: ['customers.read', 'searches.read'],
      isAdmin: false,
    });
    expect((await t.call('GET', '/v1/search/customers', { key })).statusCode).not.toBe(403);

    const promoted = await t.call('PATCH', `/v1/users/${user.id}`, { body: { isAdmin: true } });
    expect(promoted.json()).toMatchObject({ isAdmin: true });
    expect((await t.call('GET', '/v1/users', { key })).statusCode).toBe(200);
  });

  it('refuses PATCH /v1/users from a non-admin, for an unknown user, and an admin demoting itself', async () => {
    const user = await t.create<{ id: string }>('/v1/users', newUser());
    const { key } = await t.create<{ key: string }>(`/v1/users/${user.id}/api-keys`, {
      name: 'integration',
    });
    const selfPromotion = await t.call('PATCH', `/v1/users/${user.id}`, {
      key,
      body: { isAdmin: true },
    });
    expect(selfPromotion.statusCode).toBe(403);
    const unknown = await t.call('PATCH', `/v1/users/${randomUUID()}`, { body: { name: 'X' } });
    expect(problemOf(unknown).code).toBe('USER_NOT_FOUND');
    const demote = await t.call('PATCH', `/v1/users/${t.adminId}`, { body: { isAdmin: false } });
    expect(demote.statusCode).toBe(422);
    expect(problemOf(demote).code).toBe('CANNOT_DEMOTE_SELF');
    const me = await t.call('GET', '/v1/me');
    expect(me.json()).toMatchObject({ isAdmin: true });
  });

  it('refuses a permission set holding searches.bulkDelete without searches.read, at creation and by PATCH', async () => {
    const name = `set ${randomUUID()}`;
    const created = await t.call('POST', '/v1/permission-sets', {
      body: { name, permissions: ['searches.bulkDelete'] },
    });
    expect(problemOf(created)).toMatchObject({
      status: 422,
      code: 'PERMISSION_REQUIRES_ANOTHER',
      permission: 'searches.bulkDelete',
      requires: 'searches.read',
    });
    const sets = (await t.call('GET', '/v1/permission-sets')).json<{ items: { name: string }[] }>();
    expect(sets.items.map((set) => set.name)).not.toContain(name);

    const setId = await setWith(['customers.read', 'customers.write', 'customers.merge']);
    const patched = await t.call('PATCH', `/v1/permission-sets/${setId}`, {
      body: { permissions: ['customers.merge', 'searches.bulkDelete'] },
    });
    expect(problemOf(patched)).toMatchObject({ status: 422, code: 'PERMISSION_REQUIRES_ANOTHER' });
    const stored = await t.call('GET', `/v1/permission-sets/${setId}`);
    expect(stored.json()).toMatchObject({
      permissions: ['customers.merge', 'customers.read', 'customers.write'],
    });
  });
});
