import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApp, uniqueName, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface SavedSearch {
  id: string;
  filters: Record<string, string>;
  sort: string | null;
}

const save = (body: Record<string, unknown>) =>
  t.call('POST', '/v1/saved-searches', {
    body: { name: uniqueName('Saved'), index: 'conversations', ...body },
  });

describe('saved searches refuse what they cannot run', () => {
  it.each(['toString', 'constructor', 'valueOf', '__defineGetter__', 'hasOwnProperty'])(
    'refuses a filter named %s with 400 UNKNOWN_FILTER, on create and on PATCH',
    async (name) => {
      const created = await save({ filters: { [name]: 'open' } });
      expect(created.statusCode).toBe(400);
      expect(problemOf(created)).toMatchObject({ code: 'UNKNOWN_FILTER', filter: name });

      const saved = (await save({})).json<SavedSearch>();
      const patched = await t.call('PATCH', `/v1/saved-searches/${saved.id}`, {
        body: { filters: { [name]: 'open' } },
      });
      expect(patched.statusCode).toBe(400);
      expect(problemOf(patched).code).toBe('UNKNOWN_FILTER');
      const stored = await t.call('GET', `/v1/saved-searches/${saved.id}`);
      expect(stored.json<SavedSearch>().filters).toEqual({});
    },
  );

  it('refuses a sort with anything after the direction, listing the allowed sorts', async () => {
    const created = await save({ sort: 'lastActivityAt:asc:extra' });
    expect(created.statusCode).toBe(400);
    const [issue] = problemOf(created).errors as { field: string; allowed: string[] }[];
    expect(issue!.field).toBe('sort');
    expect(issue!.allowed).toContain('lastActivityAt:asc');

    const saved = (await save({ sort: 'lastActivityAt:asc' })).json<SavedSearch>();
    const patched = await t.call('PATCH', `/v1/saved-searches/${saved.id}`, {
      body: { sort: 'name:asc:extra' },
    });
    expect(patched.statusCode).toBe(400);
    expect((await t.call('GET', `/v1/saved-searches/${saved.id}`)).json<SavedSearch>().sort).toBe(
      'lastActivityAt:asc',
    );
  });

  it('stores an upper-case customer filter in lower case, as the index holds IDs', async () => {
    const customer = await t.create('/v1/customers', { name: uniqueName('Customer') });
    const saved = await save({ filters: { customer: customer.id.toUpperCase() } });
    expect(saved.statusCode, saved.body).toBe(201);
    expect(saved.json<SavedSearch>().filters).toEqual({ customer: customer.id });
  });
});
