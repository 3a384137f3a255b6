import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissionDescriptions, permissions, type Permission } from '../../lib/permissions';
import { problemOf, startTestApp, userWithKey, type TestApp } from '../helpers';
import { apiOperations, urlOf, type Operation } from '../openapi-walk';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const operations = () => apiOperations(t);

const callAs = (key: string, { method, path, hasBody }: Operation) =>
  t.call(method as 'GET', urlOf(path), {
    key,
    // Wrong in every way a body can be: a caller who may not call learns nothing from its validation.
    ...(hasBody ? { body: { isAdmin: 'yes', confirm: 'no', name: 42, unknownField: true } } : {}),
  });

describe('permissions guard every route, reading included', () => {
  it('refuses a key with no permission on every route that touches personal data, before validating its body', async () => {
    const nobody = await userWithKey(t.db);
    const all = await operations();
    expect(all.length).toBeGreaterThan(50);
    const answers: string[] = [];
    for (const operation of all) {
      const response = await callAs(nobody.key, operation);
      const name = `${operation.method} ${operation.path}`;
      if (operation.roles.length > 0) {
        expect(response.statusCode, name).toBe(403);
        expect(problemOf(response), name).toMatchObject({
          code: 'FORBIDDEN',
          permission: operation.roles[0],
        });
      } else {
        // The caller's own data: nothing of anyone else's, and no one else's object by ID.
        expect(response.statusCode, `${name}: ${response.body}`).not.toBe(403);
        expect(response.statusCode, `${name}: ${response.body}`).toBeLessThan(500);
        if (/\{[^}]+\}/.test(operation.path) && operation.method === 'GET') {
          expect(response.statusCode, name).toBe(404);
        }
      }
      answers.push(`${response.statusCode} ${name}`);
    }
    // Only routes that answer with the caller's own data let a permission-less key through.
    expect(answers.filter((answer) => !answer.startsWith('403')).map((a) => a.slice(4))).toEqual(
      expect.arrayContaining(['GET /v1/me', 'GET /v1/me/notifications']),
    );
    expect(
      answers
        .filter((answer) => !answer.startsWith('403'))
        .every((answer) => /\/v1\/(me|jobs|permissions|attribute-definitions)\b/.test(answer)),
      answers.join('\n'),
    ).toBe(true);
  });

  it('names the one permission missing: a key holding every other one is refused for it alone', async () => {
    const allBut = new Map<string, string>();
    const keyWithout = async (missing: Permission) => {
      if (!allBut.has(missing)) {
        // A set must be coherent: leave out what needs the missing permission too.
        const granted = permissions.filter(
          (p) =>
            p !== missing &&
            !(p === 'searches.bulkDelete' && missing === 'searches.read') &&
            !(p === 'customers.merge' && missing.startsWith('customers.')),
        );
        allBut.set(missing, (await userWithKey(t.db, { permissions: granted })).key);
      }
      return allBut.get(missing)!;
    };
    const checked: string[] = [];
    for (const operation of await operations()) {
      for (const role of operation.roles.filter((r) => r !== 'admin')) {
        const response = await callAs(await keyWithout(role as Permission), operation);
        const name = `${operation.method} ${operation.path} without ${role}`;
        expect(response.statusCode, name).toBe(403);
        expect(problemOf(response).permission, name).toBe(role);
        checked.push(name);
      }
    }
    expect(checked.length).toBeGreaterThan(40);
  });
});

describe('permission sets', () => {
  const createSet = (name: string, granted: string[]) =>
    t.call('POST', '/v1/permission-sets', { body: { name, permissions: granted } });

  it('gives a user the union of their sets, and a changed set applies at the next request', async () => {
    const readers = (await createSet(`readers ${randomUUID()}`, ['customers.read'])).json<{
      id: string;
    }>();
    const talkers = (await createSet(`talkers ${randomUUID()}`, ['conversations.read'])).json<{
      id: string;
    }>();
    const user = await t.create<{ id: string }>('/v1/users', {
      name: 'Ada',
      email: `${randomUUID()}@example.com`,
      permissionSetIds: [readers.id, talkers.id],
    });
    const { key } = await t.create<{ key: string }>(`/v1/users/${user.id}/api-keys`, { name: 'k' });
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Read Me' });
    const conversation = await t.create<{ id: string }>(
      `/v1/customers/${customer.id}/conversations`,
      { subject: 'Hello', channel: 'email' },
    );
    const me = (await t.call('GET', '/v1/me', { key })).json<{ permissions: string[] }>();
    expect(me).toMatchObject({ permissions: ['conversations.read', 'customers.read'] });
    expect((await t.call('GET', `/v1/customers/${customer.id}`, { key })).statusCode).toBe(200);
    expect((await t.call('GET', `/v1/conversations/${conversation.id}`, { key })).statusCode).toBe(
      200,
    );
    // Reading a customer is not writing one, nor reading its events.
    const write = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      key,
      body: { name: 'Changed' },
    });
    expect(problemOf(write)).toMatchObject({ status: 403, permission: 'customers.write' });
    const events = await t.call('GET', `/v1/customers/${customer.id}/events`, { key });
    expect(problemOf(events)).toMatchObject({ status: 403, permission: 'events.read' });

    const emptied = await t.call('PATCH', `/v1/permission-sets/${talkers.id}`, {
      body: { permissions: [] },
    });
    expect(emptied.json()).toMatchObject({ permissions: [], userCount: 1 });
    const refused = await t.call('GET', `/v1/conversations/${conversation.id}`, { key });
    expect(problemOf(refused)).toMatchObject({ status: 403, permission: 'conversations.read' });
    expect((await t.call('GET', `/v1/customers/${customer.id}`, { key })).statusCode).toBe(200);
  });

  it('refuses a taken name (whatever its case), and deleting a set users hold', async () => {
    const name = `Support ${randomUUID()}`;
    const created = await createSet(name, ['customers.read']);
    expect(created.statusCode).toBe(201);
    const again = await createSet(` ${name.toUpperCase()} `, []);
    expect(problemOf(again)).toMatchObject({ status: 409, code: 'PERMISSION_SET_NAME_TAKEN' });
    const { id } = created.json<{ id: string }>();
    const user = await t.create<{ id: string }>('/v1/users', {
      name: 'Held',
      email: `${randomUUID()}@example.com`,
      permissionSetIds: [id],
    });
    const held = await t.call('DELETE', `/v1/permission-sets/${id}`);
    expect(problemOf(held)).toMatchObject({
      status: 409,
      code: 'PERMISSION_SET_IN_USE',
      userCount: 1,
    });
    await t.call('PATCH', `/v1/users/${user.id}`, { body: { permissionSetIds: [] } });
    expect((await t.call('DELETE', `/v1/permission-sets/${id}`)).statusCode).toBe(204);
    expect((await t.call('GET', `/v1/permission-sets/${id}`)).statusCode).toBe(404);
  });

  it('keeps search results to the types the caller may read', async () => {
    const searcher = await userWithKey(t.db, { permissions: ['searches.read', 'customers.read'] });
    const conversations = await t.call('GET', '/v1/search/conversations?q=x', {
      key: searcher.key,
    });
    expect(problemOf(conversations)).toMatchObject({
      status: 403,
      permission: 'conversations.read',
    });
    const saved = await t.call('POST', '/v1/saved-searches', {
      key: searcher.key,
      body: { name: 'talks', index: 'kobjects', q: 'x' },
    });
    expect(problemOf(saved)).toMatchObject({ status: 403, permission: 'kobjects.read' });
  });

  it('lets a bulk erasure and a GDPR erasure through only with the delete permission of what they erase', async () => {
    const customer = await t.create<{ id: string }>('/v1/customers', { name: 'Keep Me' });
    const bulk = await userWithKey(t.db, {
      permissions: [
        'searches.read',
        'searches.bulkDelete',
        'customers.read',
        'conversations.delete',
      ],
    });
    const erase = await t.call('POST', '/v1/bulk-deletes', {
      key: bulk.key,
      body: { entity: 'customers', ids: [customer.id] },
    });
    expect(problemOf(erase)).toMatchObject({ status: 403, permission: 'customers.delete' });

    const compliance = await userWithKey(t.db, { permissions: ['gdpr.manage'] });
    const gdpr = await t.create<{ id: string }>('/v1/gdpr-requests', { customerId: customer.id });
    const refused = await t.call('POST', `/v1/gdpr-requests/${gdpr.id}/erase`, {
      key: compliance.key,
      body: { confirm: 'DELETE' },
    });
    expect(problemOf(refused)).toMatchObject({ status: 403, permission: 'customers.delete' });
    expect((await t.call('GET', `/v1/customers/${customer.id}`)).statusCode).toBe(200);
  });

  it('holds under dozens of parallel changes: one set per name, and a user ends with exactly one request’s sets', async () => {
    const N = 24;
    const name = `Parallel ${randomUUID()}`;
    const creations = await Promise.all(
      Array.from({ length: N }, () => createSet(name, ['customers.read'])),
    );
    expect(creations.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(creations.filter((r) => r.statusCode === 409)).toHaveLength(N - 1);

    const readable = ['customers.read', 'conversations.read', 'kobjects.read', 'events.read'];
    const sets = await Promise.all(
      Array.from(
        { length: 4 },
        async (_, i) =>
          (await createSet(`p${i} ${randomUUID()}`, [readable[i]!])).json<{ id: string }>().id,
      ),
    );
    const choices = [[sets[0]!, sets[1]!], [sets[2]!], [sets[3]!, sets[0]!], []];
    const user = await t.create<{ id: string }>('/v1/users', {
      name: 'Busy',
      email: `${randomUUID()}@example.com`,
    });
    const responses = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.call('PATCH', `/v1/users/${user.id}`, {
          body: { permissionSetIds: choices[i % choices.length] },
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(N).fill(200));
    const final = (await t.call('GET', `/v1/users/${user.id}`)).json<{
      permissionSets: { id: string }[];
    }>();
    const held = final.permissionSets.map((set) => set.id).sort();
    expect(choices.map((choice) => [...choice].sort())).toContainEqual(held);
  });
});

describe('the permission table in the docs', () => {
  it('lists, for each permission, exactly the routes the OpenAPI document says need it', async () => {
    const byRole = new Map<string, string[]>();
    const own: string[] = [];
    for (const { method, path, roles } of await operations()) {
      const route = `\`${method} ${path}\``;
      if (roles.length === 0) own.push(route);
      for (const role of roles) byRole.set(role, [...(byRole.get(role) ?? []), route]);
    }
    const rows = [...permissions, 'admin'].map((name) => {
      const what =
        name === 'admin'
          ? 'Admins hold every permission; these routes are theirs alone'
          : permissionDescriptions[name as Permission];
      return `| \`${name}\` | ${what} | ${(byRole.get(name) ?? []).join('<br>')} |`;
    });
    const table = [
      '<!-- Written by test/api/permissions.test.ts from the OpenAPI document: `npx vitest run test/api/permissions.test.ts -u` -->',
      '',
      '| permission | allows | routes that need it (a route needing two is listed under both) |',
      '| --- | --- | --- |',
      ...rows,
      `| (any key) | no personal data, or the caller's own | ${own.join('<br>')} |`,
      '',
    ].join('\n');
    await expect(table).toMatchFileSnapshot('../../docs/permission-table.md');
  });
});
