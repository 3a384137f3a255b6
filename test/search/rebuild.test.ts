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
    const klass = `k${uniqueWord('')}`;
    await t.create('/v1/klasses', { name: klass, title: 'Rebuilt' });
    const customerIds: string[] = [];
    const conversationIds: string[] = [];
    for (const n of [1, 2]) {
      const customer = await t.create(`/v1/customers`, { name: `Rebuilt ${n} ${word}` });
      customerIds.push(customer.id);
      const conversation = await t.create(`/v1/customers/${customer.id}/conversations`, {
        channel: 'chat',
        subject: `${word} hello ${n}`,
      });
      conversationIds.push(conversation.id);
    }
    const kobject = await t.create(`/v1/customers/${customerIds[0]}/kobjects`, {
      klass,
      title: `${word} order`,
    });

    // Other test files add and merge away customers meanwhile (and the rebuild
    // replays their changes into these indexes), so whole-index counts are not
    // this test's to assert: it checks its own rows, each there exactly once.
    const report = await rebuildSearchIndexes(t.db, t.app.meili, prefix, { batchSize: 50 });
    expect(report.documents.customer).toBeGreaterThanOrEqual(2);
    expect(report.documents.conversation).toBeGreaterThanOrEqual(2);
    expect(report.documents.kobject).toBeGreaterThanOrEqual(1);

    const index = (name: 'customers' | 'conversations' | 'kobjects') =>
      t.app.meili.index(indexUid(prefix, name));
    const idsMatching = async (name: 'customers' | 'conversations' | 'kobjects') =>
      (await index(name).search(word, { limit: 100 })).hits.map((h) => String(h.id)).sort();
    const customers = index('customers');
    expect(await idsMatching('customers')).toEqual([...customerIds].sort());
    expect(await idsMatching('conversations')).toEqual([...conversationIds].sort());
    expect(await idsMatching('kobjects')).toEqual([kobject.id]);

    // Rebuild again while searching: every search answers, and finds the customer.
    let searches = 0;
    let rebuilding = true;
    const searching = (async () => {
      while (rebuilding) {
        const hits = (await customers.search(word, { limit: 100 })).hits;
        expect(hits.map((h) => String(h.id)).sort()).toEqual([...customerIds].sort());
        searches += 1;
      }
    })();
    await rebuildSearchIndexes(t.db, t.app.meili, prefix, { batchSize: 50 });
    rebuilding = false;
    await searching;
    expect(searches).toBeGreaterThan(0);
    expect(await idsMatching('conversations')).toEqual([...conversationIds].sort());
    expect(await idsMatching('kobjects')).toEqual([kobject.id]);

    const left = (await t.app.meili.getRawIndexes({ limit: 1000 })).results.map((i) => i.uid);
    expect(left.filter((uid) => uid.startsWith(prefix)).sort()).toEqual(
      ['conversations', 'customers', 'kobjects'].map((name) => `${prefix}${name}`),
    );
  });
});
