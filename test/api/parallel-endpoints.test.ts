import { and, eq, inArray, sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addInAppNotification } from '../../db/queries/notifications';
import { createPermissionSet } from '../../db/queries/permission-sets';
import { getUser } from '../../db/queries/users';
import {
  apiKeys,
  auditLog,
  companies,
  conversations,
  customers,
  engagementEvents,
  gdprRequests,
  jobs,
  klasses,
  kobjects,
  messages,
  savedSearches,
  users,
} from '../../db/schema';
import {
  defineAttributes,
  eventually,
  uniqueName,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { jobWhenFinished, startJobTestApp, type Job } from '../job-helpers';

/**
 * Every write endpoint under many parallel requests, on one object and across
 * objects: each answers 2xx or a documented 4xx with a stable code (never a
 * 5xx), and what is left is exact. Endpoints covered elsewhere (conversation
 * creates, mixed timeline writes, event batches on one customer, split and
 * move races with creates) are not repeated here.
 */
let t: TestApp;
let klass: string;
beforeAll(async () => {
  ({ t, klass } = await startJobTestApp());
  await defineAttributes(t, 'customer', { i: 'number' });
  await defineAttributes(t, 'company', { i: 'number' });
});
afterAll(() => t.close());

const N = 24;
const times = <T>(n: number, make: (i: number) => T): T[] =>
  Array.from({ length: n }, (_, i) => make(i));
const all = <T>(n: number, make: (i: number) => Promise<T>) => Promise.all(times(n, make));

/** Every response's status, with the problem `code` of each 4xx: `"409 EXTERNAL_ID_TAKEN"`. */
const outcome = (r: LightMyRequestResponse) => {
  if (r.statusCode < 400) return String(r.statusCode);
  const type = r.headers['content-type']?.toString() ?? '';
  if (r.statusCode >= 500 || !type.startsWith('application/problem+json'))
    return `${r.statusCode} ${r.body}`;
  return `${r.statusCode} ${r.json<{ code: string }>().code}`;
};

/** How many responses had each outcome. */
function tally(responses: LightMyRequestResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of responses) counts[outcome(r)] = (counts[outcome(r)] ?? 0) + 1;
  return counts;
}

/** Asserts every response had one of the `allowed` outcomes. */
const onlyOutcomes = (responses: LightMyRequestResponse[], allowed: string[]) =>
  expect(Object.keys(tally(responses)).filter((o) => !allowed.includes(o))).toEqual([]);

const customer = (name = uniqueName('Parallel')) => t.create('/v1/customers', { name });
const customersOf = (n: number) => all(n, () => customer());

describe('users and API keys', () => {
  it('creates users at once: one per email, the rest 409 USER_EMAIL_TAKEN', async () => {
    const emails = times(N / 2, () => `${uniqueWord('user')}@parallel.example`);
    const responses = await all(N, (i) =>
      t.call('POST', '/v1/users', {
        body: { name: `User ${i}`, email: emails[i % emails.length] },
      }),
    );
    expect(tally(responses)).toEqual({ '201': N / 2, '409 USER_EMAIL_TAKEN': N / 2 });
    const rows = await t.db.select().from(users).where(inArray(users.email, emails));
    expect(rows.map((r) => r.email).sort()).toEqual([...emails].sort());
  });

  it('changes one user and many users at once: every change 200, each user ends as one request left it', async () => {
    const one = await userWithKey(t.db);
    const many = await all(N, () => userWithKey(t.db));
    const sets = await all(4, async (i) => {
      const granted = [
        ['searches.read'],
        ['customers.read'],
        ['customers.delete'],
        ['gdpr.manage'],
      ];
      return (
        await createPermissionSet(t.db, { name: uniqueName('set'), permissions: granted[i]! })
      ).id;
    });
    const perms = [[sets[0]!], [sets[1]!, sets[2]!], [], [sets[3]!]];
    const responses = await Promise.all([
      ...times(N, (i) =>
        t.call('PATCH', `/v1/users/${one.id}`, {
          body: { name: `Renamed ${i}`, permissionSetIds: perms[i % perms.length] },
        }),
      ),
      ...many.map((user, i) =>
        t.call('PATCH', `/v1/users/${user.id}`, { body: { name: `Many ${i}` } }),
      ),
    ]);
    expect(tally(responses)).toEqual({ '200': 2 * N });
    // Name and permission sets of one request land together.
    const row = await getUser(t.db, one.id);
    const i = Number(row.name.replace('Renamed ', ''));
    expect(row.permissionSets.map((set) => set.id).sort()).toEqual(
      [...perms[i % perms.length]!].sort(),
    );
    const renamed = await t.db
      .select({ id: users.id, name: users.name })
      .from(users)
      .where(
        inArray(
          users.id,
          many.map((u) => u.id),
        ),
      );
    expect(Object.fromEntries(renamed.map((r) => [r.id, r.name]))).toEqual(
      Object.fromEntries(many.map((u, i) => [u.id, `Many ${i}`])),
    );
  });

  it('issues keys at once, each working, and revokes them at once, each then refused', async () => {
    const user = await userWithKey(t.db);
    const issued = await all(N, (i) =>
      t.call('POST', `/v1/users/${user.id}/api-keys`, { body: { name: `key ${i}` } }),
    );
    expect(tally(issued)).toEqual({ '201': N });
    const keys = issued.map((r) => r.json<{ id: string; key: string }>());
    expect(new Set(keys.map((k) => k.key)).size).toBe(N);
    expect(tally(await all(N, (i) => t.call('GET', '/v1/me', { key: keys[i]!.key })))).toEqual({
      '200': N,
    });
    // Every key revoked twice at once: revoking is idempotent.
    const revoked = await all(2 * N, (i) =>
      t.call('DELETE', `/v1/users/${user.id}/api-keys/${keys[i % N]!.id}`),
    );
    expect(tally(revoked)).toEqual({ '204': 2 * N });
    const left = await t.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, user.id), sql`${apiKeys.revokedAt} is null`));
    // The key userWithKey issued is the only one left.
    expect(left).toHaveLength(1);
    expect(tally(await all(N, (i) => t.call('GET', '/v1/me', { key: keys[i]!.key })))).toEqual({
      '401 UNAUTHENTICATED': N,
    });
  });
});

describe('companies', () => {
  it('creates companies at once: one per name, the rest 409 COMPANY_NAME_TAKEN', async () => {
    const names = times(N / 2, () => uniqueName('Parallel Co'));
    const responses = await all(N, (i) =>
      t.call('POST', '/v1/companies', {
        // The second request for a name differs only in case and spaces.
        body: { name: i < N / 2 ? names[i] : ` ${names[i - N / 2]!.toUpperCase()} ` },
      }),
    );
    expect(tally(responses)).toEqual({ '201': N / 2, '409 COMPANY_NAME_TAKEN': N / 2 });
    const rows = await t.db
      .select()
      .from(companies)
      .where(
        inArray(
          sql`lower(${companies.name})`,
          names.map((n) => n.toLowerCase()),
        ),
      );
    expect(rows).toHaveLength(N / 2);
  });

  it('updates one company at once and renames many to one name: one wins, the rest 409', async () => {
    const company = await t.create('/v1/companies', { name: uniqueName('Busy Co') });
    await all(4, (i) => t.create('/v1/customers', { name: `Staff ${i}`, companyId: company.id }));
    const others = await all(N, () => t.create('/v1/companies', { name: uniqueName('Other Co') }));
    const wanted = uniqueName('Wanted Co');
    const responses = await Promise.all([
      ...times(N, (i) =>
        t.call('PATCH', `/v1/companies/${company.id}`, {
          body: { name: `${wanted} ${i}`, customAttributes: { i } },
        }),
      ),
      ...others.map((other) =>
        t.call('PATCH', `/v1/companies/${other.id}`, { body: { name: wanted } }),
      ),
    ]);
    const [mine, theirs] = [responses.slice(0, N), responses.slice(N)];
    expect(tally(mine)).toEqual({ '200': N });
    expect(tally(theirs)).toEqual({ '200': 1, '409 COMPANY_NAME_TAKEN': N - 1 });
    const [row] = await t.db.select().from(companies).where(eq(companies.id, company.id));
    expect(row!.name).toBe(`${wanted} ${(row!.customAttributes as { i: number }).i}`);
  });

  it('refuses deleting a company at once, every time with 405 COMPANY_NOT_DELETABLE', async () => {
    const company = await t.create('/v1/companies', { name: uniqueName('Kept Co') });
    const responses = await all(N, () => t.call('DELETE', `/v1/companies/${company.id}`));
    expect(tally(responses)).toEqual({ '405 COMPANY_NOT_DELETABLE': N });
  });
});

describe('customers', () => {
  it('creates customers with one external ID at once: one 201, the rest 409 EXTERNAL_ID_TAKEN', async () => {
    const externalId = `ext-${randomUUID()}`;
    const responses = await all(N, (i) =>
      t.call('POST', '/v1/customers', { body: { name: `Same ${i}`, externalId } }),
    );
    expect(tally(responses)).toEqual({ '201': 1, '409 EXTERNAL_ID_TAKEN': N - 1 });
    const rows = await t.db.select().from(customers).where(eq(customers.externalId, externalId));
    expect(rows).toHaveLength(1);
  });

  it('updates one customer and many customers at once; one external ID goes to exactly one', async () => {
    const one = await customer();
    const many = await customersOf(N);
    const externalId = `ext-${randomUUID()}`;
    const responses = await Promise.all([
      ...times(N, (i) =>
        t.call('PATCH', `/v1/customers/${one.id}`, {
          body: { name: `Patched ${i}`, customAttributes: { i } },
        }),
      ),
      ...many.map((c) => t.call('PATCH', `/v1/customers/${c.id}`, { body: { externalId } })),
    ]);
    expect(tally(responses.slice(0, N))).toEqual({ '200': N });
    expect(tally(responses.slice(N))).toEqual({ '200': 1, '409 EXTERNAL_ID_TAKEN': N - 1 });
    const [row] = await t.db.select().from(customers).where(eq(customers.id, one.id));
    expect(row!.name).toBe(`Patched ${(row!.customAttributes as { i: number }).i}`);
  });
});

describe('klasses and KObjects', () => {
  it('defines one klass name at once: one 201, the rest 409 KLASS_NAME_TAKEN', async () => {
    const name = `k${uniqueWord('')}`;
    const responses = await all(N, () =>
      t.call('POST', '/v1/klasses', { body: { name, title: 'Same' } }),
    );
    expect(tally(responses)).toEqual({ '201': 1, '409 KLASS_NAME_TAKEN': N - 1 });
    expect(await t.db.select().from(klasses).where(eq(klasses.name, name))).toHaveLength(1);
  });

  it('creates KObjects across customers at once, each counted on its own customer', async () => {
    const owners = await customersOf(8);
    const responses = await all(N, (i) =>
      t.call('POST', `/v1/customers/${owners[i % owners.length]!.id}/kobjects`, {
        body: { klass, title: `Across ${i}` },
      }),
    );
    expect(tally(responses)).toEqual({ '201': N });
    const counts = await t.db
      .select({ owner: kobjects.customerId, n: sql<number>`count(*)::int` })
      .from(kobjects)
      .where(
        inArray(
          kobjects.customerId,
          owners.map((o) => o.id),
        ),
      )
      .groupBy(kobjects.customerId);
    expect(counts.map((c) => c.n)).toEqual(Array(owners.length).fill(N / owners.length));
  });
});

describe('conversations', () => {
  it('adds messages to one conversation and to conversations of many customers at once', async () => {
    const owner = await customer();
    const busy = await t.create(`/v1/customers/${owner.id}/conversations`, { channel: 'chat' });
    const spread = await Promise.all(
      (await customersOf(N)).map((c) =>
        t.create(`/v1/customers/${c.id}/conversations`, { channel: 'email' }),
      ),
    );
    const responses = await Promise.all([
      ...times(N, (i) =>
        t.call('POST', `/v1/conversations/${busy.id}/messages`, {
          body: { direction: i % 2 ? 'inbound' : 'outbound', body: `Busy ${i}` },
        }),
      ),
      ...spread.map((c, i) =>
        t.call('POST', `/v1/conversations/${c.id}/messages`, {
          body: { direction: 'inbound', body: `Spread ${i}` },
        }),
      ),
    ]);
    expect(tally(responses)).toEqual({ '201': 2 * N });
    const counts = await t.db
      .select({ id: messages.conversationId, n: sql<number>`count(*)::int` })
      .from(messages)
      .where(inArray(messages.conversationId, [busy.id, ...spread.map((c) => c.id)]))
      .groupBy(messages.conversationId);
    expect(Object.fromEntries(counts.map((c) => [c.id, c.n]))).toEqual(
      Object.fromEntries([[busy.id, N], ...spread.map((c) => [c.id, 1])]),
    );
  });

  it('changes one conversation’s status at once: every change 200, counted once in the report', async () => {
    const owner = await customer();
    const day = new Date(Date.UTC(1971, 0, 1) + Math.floor(Math.random() * 4000) * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const conversation = await t.create(`/v1/customers/${owner.id}/conversations`, {
      channel: 'sms',
      createdAt: `${day}T12:00:00.000Z`,
    });
    const statuses = ['done', 'snoozed', 'open'];
    const responses = await all(N, (i) =>
      t.call('PATCH', `/v1/conversations/${conversation.id}`, {
        body: { status: statuses[i % statuses.length], subject: `Subject ${i}` },
      }),
    );
    expect(tally(responses)).toEqual({ '200': N });
    const [row] = await t.db
      .select()
      .from(conversations)
      .where(eq(conversations.id, conversation.id));
    const report = (await t.call('GET', `/v1/reports/conversations?from=${day}&to=${day}`)).json<{
      total: number;
      rows: { status: string; conversations: number }[];
    }>();
    expect(report.total).toBe(1);
    expect(report.rows.filter((r) => r.conversations !== 0)).toMatchObject([
      { status: row!.status, conversations: 1 },
    ]);
    const i = Number(row!.subject.replace('Subject ', ''));
    expect(row!.status).toBe(statuses[i % statuses.length]);
  });

  it('pins and unpins one item at once, and pins items of many customers at once', async () => {
    const owner = await customer();
    const conversation = await t.create(`/v1/customers/${owner.id}/conversations`, {
      channel: 'chat',
    });
    const kobject = await t.create(`/v1/customers/${owner.id}/kobjects`, { klass, title: 'Pin' });
    const spread = await Promise.all(
      (await customersOf(N)).map((c) =>
        t.create(`/v1/customers/${c.id}/kobjects`, { klass, title: 'Spread pin' }),
      ),
    );
    const responses = await Promise.all([
      ...times(N, (i) =>
        t.call(i % 2 ? 'DELETE' : 'PUT', `/v1/conversations/${conversation.id}/pin`),
      ),
      ...times(N, () => t.call('PUT', `/v1/kobjects/${kobject.id}/pin`)),
      ...spread.map((k) => t.call('PUT', `/v1/kobjects/${k.id}/pin`)),
    ]);
    expect(tally(responses)).toEqual({ '204': 3 * N });
    const pinned = await t.db
      .select({ id: kobjects.id, pinnedAt: kobjects.pinnedAt, pinnedBy: kobjects.pinnedBy })
      .from(kobjects)
      .where(inArray(kobjects.id, [kobject.id, ...spread.map((k) => k.id)]));
    expect(pinned.filter((k) => k.pinnedAt === null || k.pinnedBy !== t.adminId)).toEqual([]);
    const [row] = await t.db
      .select()
      .from(conversations)
      .where(eq(conversations.id, conversation.id));
    expect(row!.pinnedAt === null).toBe(row!.pinnedBy === null);
  });
});

describe('events', () => {
  it('records batches for many customers at once, and a batch re-sent at once stores nothing twice', async () => {
    const owners = await customersOf(N);
    const repeated = await customer();
    const batch = times(10, (i) => ({
      type: 'page_view',
      occurredAt: new Date(Date.UTC(2025, 0, 1, 12, i)).toISOString(),
      externalId: `e${i}`,
    }));
    const responses = await Promise.all([
      ...owners.map((o) =>
        t.call('POST', `/v1/customers/${o.id}/events`, { body: { events: batch } }),
      ),
      ...times(N, () =>
        t.call('POST', `/v1/customers/${repeated.id}/events`, { body: { events: batch } }),
      ),
    ]);
    expect(tally(responses.slice(0, N))).toEqual({ '201': N });
    // The first to land stores the batch; every other finds only duplicates (200).
    expect(tally(responses.slice(N))).toEqual({ '201': 1, '200': N - 1 });
    const created = responses.slice(N).map((r) => r.json<{ created: number }>().created);
    expect(created.reduce((a, b) => a + b, 0)).toBe(batch.length);
    const counts = await t.db
      .select({ owner: engagementEvents.customerId, n: sql<number>`count(*)::int` })
      .from(engagementEvents)
      .where(inArray(engagementEvents.customerId, [...owners.map((o) => o.id), repeated.id]))
      .groupBy(engagementEvents.customerId);
    expect(counts.map((c) => c.n)).toEqual(Array(N + 1).fill(batch.length));
  });
});

describe('notifications', () => {
  it('keeps every channel one user switched off at once, for many users at once', async () => {
    const many = await all(N, () => userWithKey(t.db));
    // Each user's first settings: four changes at once, each to another channel.
    const patches = [
      { bulkJobCompleted: { email: false } },
      { bulkJobCompleted: { inApp: false } },
      { gdprDeadlines: { email: false } },
      { gdprDeadlines: { inApp: false } },
    ];
    const responses = await Promise.all(
      many.flatMap((user) =>
        patches.map((body) =>
          t.call('PUT', '/v1/me/notification-settings', { key: user.key, body }),
        ),
      ),
    );
    expect(tally(responses)).toEqual({ '200': 4 * N });
    const allOff = {
      bulkJobCompleted: { email: false, inApp: false },
      gdprDeadlines: { email: false, inApp: false },
    };
    const settings = await Promise.all(
      many.map((user) => t.call('GET', '/v1/me/notification-settings', { key: user.key })),
    );
    expect(settings.map((r) => r.json<unknown>())).toEqual(Array<unknown>(N).fill(allOff));
  });

  it('marks one notification read at once, keeping the first time, and many at once', async () => {
    const user = await userWithKey(t.db);
    for (let i = 0; i <= N; i++) {
      await addInAppNotification(t.db, `test:${randomUUID()}`, {
        userId: user.id,
        kind: 'job_finished',
        title: `n${i}`,
        body: 'test',
      });
    }
    const listed = (await t.call('GET', `/v1/me/notifications?limit=100`, { key: user.key })).json<{
      items: { id: string }[];
    }>().items;
    const [first, ...rest] = listed.map((n) => n.id);
    const responses = await Promise.all([
      ...times(N, () => t.call('POST', `/v1/me/notifications/${first}/read`, { key: user.key })),
      ...rest.map((id) => t.call('POST', `/v1/me/notifications/${id}/read`, { key: user.key })),
    ]);
    expect(tally(responses)).toEqual({ '200': 2 * N });
    const readAt = new Set(responses.slice(0, N).map((r) => r.json<{ readAt: string }>().readAt));
    expect(readAt.size).toBe(1);
    const unread = await t.call('GET', '/v1/me/notifications?unread=true', { key: user.key });
    expect(unread.json<{ items: unknown[] }>().items).toEqual([]);
  });
});

describe('saved searches', () => {
  it('saves, changes and deletes at once: one delete wins, the rest 404', async () => {
    const word = uniqueWord('saved');
    const created = await all(N, (i) =>
      t.call('POST', '/v1/saved-searches', {
        body: { name: `${word} ${i}`, index: 'customers', q: word },
      }),
    );
    expect(tally(created)).toEqual({ '201': N });
    const ids = created.map((r) => r.json<{ id: string }>().id);
    const [target] = ids;
    const changed = await Promise.all([
      ...times(N, (i) => t.call('PATCH', `/v1/saved-searches/${target}`, { body: { q: `q${i}` } })),
      ...ids
        .slice(1)
        .map((id) => t.call('PATCH', `/v1/saved-searches/${id}`, { body: { q: 'x' } })),
    ]);
    expect(tally(changed)).toEqual({ '200': 2 * N - 1 });
    const deleted = await all(N, () => t.call('DELETE', `/v1/saved-searches/${target}`));
    expect(tally(deleted)).toEqual({ '204': 1, '404 SAVED_SEARCH_NOT_FOUND': N - 1 });
    const left = await t.db.select().from(savedSearches).where(inArray(savedSearches.id, ids));
    expect(left).toHaveLength(N - 1);
  });
});

describe('GDPR requests', () => {
  it('records requests for many customers at once, and lets one of many for one customer through', async () => {
    const many = await customersOf(N);
    const one = await customer();
    const responses = await Promise.all([
      ...many.map((c) => t.call('POST', '/v1/gdpr-requests', { body: { customerId: c.id } })),
      ...times(N, () => t.call('POST', '/v1/gdpr-requests', { body: { customerId: one.id } })),
    ]);
    expect(tally(responses.slice(0, N))).toEqual({ '201': N });
    expect(tally(responses.slice(N))).toEqual({ '201': 1, '409 REQUEST_ALREADY_OPEN': N - 1 });
    const rows = await t.db
      .select()
      .from(gdprRequests)
      .where(inArray(gdprRequests.customerId, [...many.map((c) => c.id), one.id]));
    expect(rows).toHaveLength(N + 1);
  });

  it('declines one request at once: one 200, the rest 409 REQUEST_CLOSED, one audit entry', async () => {
    const c = await customer();
    const request = await t.create('/v1/gdpr-requests', { customerId: c.id });
    const responses = await all(N, () =>
      t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
        body: { reason: 'legal_hold' },
      }),
    );
    expect(tally(responses)).toEqual({ '200': 1, '409 REQUEST_CLOSED': N - 1 });
    const entries = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectId, request.id), eq(auditLog.action, 'gdpr_request.declined')));
    expect(entries).toHaveLength(1);
  });

  it('erases for one request asked at once: one deletion job, the request completed', async () => {
    const c = await customer();
    await t.create(`/v1/customers/${c.id}/conversations`, { channel: 'email' });
    const request = await t.create('/v1/gdpr-requests', { customerId: c.id });
    const responses = await all(N, () => t.call('POST', `/v1/gdpr-requests/${request.id}/erase`));
    const outcomes = tally(responses);
    expect(
      Object.keys(outcomes).filter((o) => !['200', '202', '409 REQUEST_CLOSED'].includes(o)),
    ).toEqual([]);
    const deletions = await t.db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.type, 'delete'), sql`${jobs.params}->>'id' = ${c.id}`));
    expect(deletions).toHaveLength(1);
    await eventually(
      async () => {
        const [row] = await t.db.select().from(gdprRequests).where(eq(gdprRequests.id, request.id));
        return row!.status === 'completed' ? row : undefined;
      },
      20_000,
      'the request to complete',
    );
  });

  it('erases for requests while their customers are deleted at once: every request completes', async () => {
    const raced = await all(3, async () => {
      const c = await customer();
      await t.create(`/v1/customers/${c.id}/conversations`, { channel: 'email' });
      const request = await t.create('/v1/gdpr-requests', { customerId: c.id });
      return { customerId: c.id, requestId: request.id };
    });
    const deletes = raced.flatMap(({ customerId }) =>
      times(N / 2, () =>
        t.call('DELETE', `/v1/customers/${customerId}`, { body: { confirm: 'DELETE' } }),
      ),
    );
    // The erasures come once the deletions' jobs exist, so they find one of those to follow.
    await eventually(
      async () => {
        const started = await t.db
          .select({ id: jobs.id })
          .from(jobs)
          .where(
            and(
              eq(jobs.type, 'delete'),
              inArray(
                sql`${jobs.params}->>'id'`,
                raced.map((r) => r.customerId),
              ),
            ),
          );
        return started.length === deletes.length ? true : undefined;
      },
      10_000,
      'every deletion job to be recorded',
    );
    const responses = await Promise.all([
      ...deletes,
      ...raced.flatMap(({ requestId }) =>
        times(N / 2, () => t.call('POST', `/v1/gdpr-requests/${requestId}/erase`)),
      ),
    ]);
    onlyOutcomes(responses, ['200', '202', '404 CUSTOMER_NOT_FOUND']);
    // Some deletions lost the race and failed; each request follows the one that erased its customer.
    const completed = await Promise.all(
      raced.map(({ requestId }) =>
        eventually(
          async () => {
            const [row] = await t.db
              .select()
              .from(gdprRequests)
              .where(eq(gdprRequests.id, requestId));
            return row?.status === 'completed' ? row : undefined;
          },
          10_000,
          `request ${requestId} to complete`,
        ),
      ),
    );
    for (const [i, row] of completed.entries()) {
      const [erasedBy] = await t.db
        .select()
        .from(jobs)
        .where(eq(jobs.id, row.erasureJobId ?? ''));
      expect(erasedBy).toMatchObject({ type: 'delete', status: 'completed' });
      expect(row.completionRecord).toMatchObject({
        jobId: erasedBy?.id,
        customerId: raced[i]!.customerId,
      });
      const left = await t.db
        .select()
        .from(customers)
        .where(eq(customers.id, raced[i]!.customerId));
      expect(left).toEqual([]);
    }
  });

  it('declines and erases one request at once: either it is declined and the customer kept, or erased', async () => {
    const c = await customer();
    const request = await t.create('/v1/gdpr-requests', { customerId: c.id });
    const responses = await all(N, (i) =>
      i % 2
        ? t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
            body: { reason: 'legal_hold' },
          })
        : t.call('POST', `/v1/gdpr-requests/${request.id}/erase`),
    );
    const [erases, declines] = [
      responses.filter((_, i) => i % 2 === 0),
      responses.filter((_, i) => i % 2 === 1),
    ];
    const [row] = await t.db.select().from(gdprRequests).where(eq(gdprRequests.id, request.id));
    const deletions = await t.db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.type, 'delete'), sql`${jobs.params}->>'id' = ${c.id}`));
    if (row!.status === 'declined') {
      expect(tally(erases)).toEqual({ '409 REQUEST_CLOSED': N / 2 });
      expect(tally(declines)).toEqual({ '200': 1, '409 REQUEST_CLOSED': N / 2 - 1 });
      expect(deletions).toEqual([]);
      expect(await t.db.select().from(customers).where(eq(customers.id, c.id))).toHaveLength(1);
    } else {
      onlyOutcomes(erases, ['200', '202', '409 REQUEST_CLOSED']);
      onlyOutcomes(declines, ['409 ERASURE_RUNNING', '409 REQUEST_CLOSED']);
      expect(deletions).toHaveLength(1);
      expect((await jobWhenFinished(t, deletions[0]!.id)).status).toBe('completed');
    }
  });
});

describe('deletions', () => {
  const confirm = { confirm: 'DELETE' };

  it('previews one bulk delete with one Idempotency-Key at once and confirms it at once: one job, erased once', async () => {
    const owner = await customer();
    const kobject = await t.create(`/v1/customers/${owner.id}/kobjects`, { klass, title: 'Once' });
    const key = randomUUID();
    const responses = await all(N, () =>
      t.call('POST', '/v1/bulk-deletes', {
        body: { entity: 'kobjects', ids: [kobject.id] },
        headers: { 'idempotency-key': key },
      }),
    );
    expect(tally(responses)).toEqual({ '202': N });
    const ids = new Set(responses.map((r) => r.json<{ job: Job }>().job.id));
    expect(ids.size).toBe(1);
    const jobId = [...ids][0]!;
    const confirms = await all(N, () =>
      t.call('POST', `/v1/bulk-deletes/${jobId}/confirm`, { body: { ...confirm, count: 1 } }),
    );
    expect(tally(confirms)).toEqual({ '202': 1, '409 JOB_NOT_AWAITING_CONFIRMATION': N - 1 });
    expect((await jobWhenFinished(t, jobId)).status).toBe('completed');
    expect(await t.db.select().from(kobjects).where(eq(kobjects.id, kobject.id))).toEqual([]);
    const audited = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectId, kobject.id), eq(auditLog.action, 'kobject.deleted')));
    expect(audited.map((e) => e.jobId)).toEqual([jobId]);
  });

  it('deletes one customer asked at once: it is gone, every answer 200 or 404', async () => {
    const c = await customer();
    await t.create(`/v1/customers/${c.id}/conversations`, { channel: 'email' });
    const responses = await all(N, () =>
      t.call('DELETE', `/v1/customers/${c.id}`, { body: confirm }),
    );
    const outcomes = tally(responses);
    expect(outcomes['200']).toBeGreaterThanOrEqual(1);
    expect(
      Object.keys(outcomes).filter((o) => !['200', '404 CUSTOMER_NOT_FOUND'].includes(o)),
    ).toEqual([]);
    expect(await t.db.select().from(customers).where(eq(customers.id, c.id))).toEqual([]);
  });

  it('deletes many conversations and KObjects of one customer at once, each 200', async () => {
    const c = await customer();
    const items = await Promise.all([
      ...times(N / 2, () =>
        t.create(`/v1/customers/${c.id}/conversations`, { channel: 'chat' }).then((r) => ({
          path: 'conversations',
          id: r.id,
        })),
      ),
      ...times(N / 2, () =>
        t.create(`/v1/customers/${c.id}/kobjects`, { klass, title: 'Gone' }).then((r) => ({
          path: 'kobjects',
          id: r.id,
        })),
      ),
    ]);
    const responses = await Promise.all(
      items.map((item) => t.call('DELETE', `/v1/${item.path}/${item.id}`, { body: confirm })),
    );
    expect(tally(responses)).toEqual({ '200': N });
    const timeline = await t.call('GET', `/v1/customers/${c.id}/timeline`);
    expect(timeline.json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('starts bulk deletes at once across customers, each erasing its own, and cancels one at once', async () => {
    const owners = await customersOf(N);
    const own = await Promise.all(
      owners.map((o) => t.create(`/v1/customers/${o.id}/kobjects`, { klass, title: 'Bulk' })),
    );
    const previewed = await Promise.all(
      own.map((k) =>
        t.call('POST', '/v1/bulk-deletes', { body: { entity: 'kobjects', ids: [k.id] } }),
      ),
    );
    expect(tally(previewed)).toEqual({ '202': N });
    const jobIds = previewed.map((r) => r.json<{ job: Job }>().job.id);
    const started = await Promise.all(
      jobIds.map((id) =>
        t.call('POST', `/v1/bulk-deletes/${id}/confirm`, { body: { ...confirm, count: 1 } }),
      ),
    );
    expect(tally(started)).toEqual({ '202': N });
    const cancels = await all(N, () => t.call('POST', `/v1/bulk-deletes/${jobIds[0]}/cancel`));
    expect(
      Object.keys(tally(cancels)).filter((o) => !['200', '202', '409 JOB_FINISHED'].includes(o)),
    ).toEqual([]);
    const finished = await Promise.all(jobIds.slice(1).map((id) => jobWhenFinished(t, id)));
    expect(finished.map((j) => j.status)).toEqual(Array(N - 1).fill('completed'));
    const left = await t.db
      .select({ id: kobjects.id })
      .from(kobjects)
      .where(
        inArray(
          kobjects.id,
          own.slice(1).map((k) => k.id),
        ),
      );
    expect(left).toEqual([]);
  }, 120_000);
});

describe('merges, splits and KObject moves', () => {
  it('previews one merge with one Idempotency-Key at once: one job for all', async () => {
    const [source, target] = [await customer(), await customer()];
    const key = randomUUID();
    const responses = await all(N, () =>
      t.call('POST', '/v1/merges', {
        body: { sourceCustomerId: source.id, targetCustomerId: target.id },
        headers: { 'idempotency-key': key },
      }),
    );
    expect(tally(responses)).toEqual({ '201': N });
    expect(new Set(responses.map((r) => r.json<{ job: Job }>().job.id)).size).toBe(1);
  });

  const previewedMerge = async () => {
    const [source, target] = [await customer(), await customer()];
    await t.create(`/v1/customers/${source.id}/conversations`, { channel: 'email' });
    const previewed = await t.call('POST', '/v1/merges', {
      body: { sourceCustomerId: source.id, targetCustomerId: target.id },
    });
    expect(previewed.statusCode, previewed.body).toBe(201);
    return { source, target, job: previewed.json<{ job: Job }>().job };
  };

  it('confirms one merge at once: it completes once, every other answer 409', async () => {
    const { source, job } = await previewedMerge();
    const responses = await all(N, () => t.call('POST', `/v1/merges/${job.id}/confirm`));
    onlyOutcomes(responses, ['200', '409 JOB_NOT_AWAITING_CONFIRMATION']);
    expect(tally(responses)['200']).toBeGreaterThanOrEqual(1);
    expect((await jobWhenFinished(t, job.id)).status).toBe('completed');
    expect(await t.db.select().from(customers).where(eq(customers.id, source.id))).toEqual([]);
  });

  it('cancels one merge at once: every answer 200 or 409, the job cancelled', async () => {
    const { source, job } = await previewedMerge();
    const responses = await all(N, () => t.call('POST', `/v1/merges/${job.id}/cancel`));
    onlyOutcomes(responses, ['200', '409 JOB_NOT_AWAITING_CONFIRMATION']);
    expect(tally(responses)['200']).toBeGreaterThanOrEqual(1);
    expect((await jobWhenFinished(t, job.id)).status).toBe('cancelled');
    expect(await t.db.select().from(customers).where(eq(customers.id, source.id))).toHaveLength(1);
  });

  it('confirms and cancels one merge at once: one side wins, the customers show which', async () => {
    const { source, job } = await previewedMerge();
    const responses = await all(N, (i) =>
      t.call('POST', `/v1/merges/${job.id}/${i % 2 ? 'cancel' : 'confirm'}`),
    );
    onlyOutcomes(responses, ['200', '409 JOB_NOT_AWAITING_CONFIRMATION']);
    const ended = (await jobWhenFinished(t, job.id)).status;
    expect(['completed', 'cancelled']).toContain(ended);
    const left = await t.db.select().from(customers).where(eq(customers.id, source.id));
    expect(left).toHaveLength(ended === 'completed' ? 0 : 1);
  });

  it('previews merges of many customers into one at once and confirms them all at once', async () => {
    const target = await customer();
    const sources = await customersOf(N);
    await Promise.all(
      sources.map((s) => t.create(`/v1/customers/${s.id}/conversations`, { channel: 'sms' })),
    );
    const previews = await Promise.all(
      sources.map((s) =>
        t.call('POST', '/v1/merges', {
          body: { sourceCustomerId: s.id, targetCustomerId: target.id },
        }),
      ),
    );
    expect(tally(previews)).toEqual({ '201': N });
    const confirmed = await Promise.all(
      previews.map((p) => t.call('POST', `/v1/merges/${p.json<{ job: Job }>().job.id}/confirm`)),
    );
    // A merge into the target changes its timeline, so another's preview may be stale by its turn.
    const outcomes = tally(confirmed);
    expect(Object.keys(outcomes).filter((o) => !['200', '409 PREVIEW_STALE'].includes(o))).toEqual(
      [],
    );
    const merged = outcomes['200'] ?? 0;
    const [{ n }] = (
      await t.db.execute<{ n: number }>(
        sql`select count(*)::int as n from conversations where customer_id = ${target.id}`,
      )
    ).rows as [{ n: number }];
    expect(n).toBe(merged);
  });

  it('splits and moves from many customers at once, each item moved once', async () => {
    const target = await customer();
    const sources = await customersOf(N / 2);
    const conversationsToMove = await Promise.all(
      sources.map((s) => t.create(`/v1/customers/${s.id}/conversations`, { channel: 'chat' })),
    );
    const kobjectsToMove = await Promise.all(
      sources.map((s) => t.create(`/v1/customers/${s.id}/kobjects`, { klass, title: 'Moving' })),
    );
    const previews = await Promise.all([
      ...sources.map((s, i) =>
        t.call('POST', '/v1/splits', {
          body: {
            sourceCustomerId: s.id,
            targetCustomerId: target.id,
            conversationIds: [conversationsToMove[i]!.id],
          },
        }),
      ),
      ...kobjectsToMove.map((k) =>
        t.call('POST', '/v1/kobject-moves', {
          body: { kobjectIds: [k.id], targetCustomerId: target.id },
        }),
      ),
    ]);
    expect(tally(previews)).toEqual({ '201': N });
    const confirmed = await Promise.all(
      previews.map((p, i) => {
        const path = i < N / 2 ? 'splits' : 'kobject-moves';
        return t.call('POST', `/v1/${path}/${p.json<{ job: Job }>().job.id}/confirm`);
      }),
    );
    const outcomes = tally(confirmed);
    expect(Object.keys(outcomes).filter((o) => !['200', '409 PREVIEW_STALE'].includes(o))).toEqual(
      [],
    );
    const moved = await t.db.execute<{ n: number }>(sql`
      select (select count(*) from conversations where customer_id = ${target.id})
           + (select count(*) from kobjects where customer_id = ${target.id}) as n`);
    expect(Number(moved.rows[0]!.n)).toBe(outcomes['200'] ?? 0);
  });
});

describe('diagnostics', () => {
  it('counts timelines of many customers at once, each its own', async () => {
    const owners = await customersOf(N);
    await Promise.all(
      owners
        .filter((_, i) => i % 2)
        .map((o) => t.create(`/v1/customers/${o.id}/conversations`, { channel: 'chat' })),
    );
    const responses = await Promise.all(
      owners.map((o) =>
        t.call('POST', '/v1/diagnostics/timeline-count', { body: { customerId: o.id } }),
      ),
    );
    expect(tally(responses)).toEqual({ '200': N });
    expect(responses.map((r) => r.json<{ counts: { total: number } }>().counts.total)).toEqual(
      times(N, (i) => i % 2),
    );
  });
});
