import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildSearchIndexes } from '../../search/rebuild';
import { indexUid } from '../../search/indexes';
import { startTestApp, uniqueWord, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('rebuilding the search indexes', () => {
  it('builds empty indexes from Postgres and keeps answering while a rebuild swaps in', async () => {
    // A prefix of its own: these indexes start empty, and the shared ones are left alone.
    const prefix = `${uniqueWord('rb')}_`;
    const word = uniqueWord('rebuilt');
    const customer = (
      await t.call('POST', '/v1/customers', { body: { name: `Rebuilt ${word}` } })
    ).json<{ id: string }>();
    await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
      body: { channel: 'chat', subject: `${word} hello` },
    });

    // Other test files add and merge away customers meanwhile, so only this file's rows are counted on.
    const report = await rebuildSearchIndexes(t.db, t.app.meili, prefix, { batchSize: 50 });
    expect(report.documents.customer).toBeGreaterThan(0);
    expect(report.documents.conversation).toBeGreaterThan(0);

    const customers = t.app.meili.index(indexUid(prefix, 'customers'));
    const conversations = t.app.meili.index(indexUid(prefix, 'conversations'));
    expect((await customers.search(word)).hits.map((h) => String(h.id))).toEqual([customer.id]);
    expect((await conversations.search(word)).hits).toHaveLength(1);
    expect((await customers.getStats()).numberOfDocuments).toBe(report.documents.customer);

    // Rebuild again while searching: every search answers, and finds the customer.
    let searches = 0;
    let rebuilding = true;
    const searching = (async () => {
      while (rebuilding) {
        const hits = (await customers.search(word)).hits;
        expect(hits.map((h) => String(h.id))).toEqual([customer.id]);
        searches += 1;
      }
    })();
    await rebuildSearchIndexes(t.db, t.app.meili, prefix, { batchSize: 50 });
    rebuilding = false;
    await searching;
    expect(searches).toBeGreaterThan(0);

    const left = (await t.app.meili.getRawIndexes({ limit: 1000 })).results.map((i) => i.uid);
    expect(left.filter((uid) => uid.startsWith(prefix)).sort()).toEqual(
      ['conversations', 'customers', 'kobjects'].map((name) => `${prefix}${name}`),
    );
  });
});
