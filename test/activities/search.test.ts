import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type Activities } from '../../activities';
import { createMailer } from '../../notifications/mailer';
import { createSearchClient } from '../../search/client';
import { ensureIndexes } from '../../search/indexes';
import { startTestApp, uniqueWord, type TestApp } from '../helpers';

let t: TestApp;
let activities: Activities;
// A prefix of its own keeps these indexes apart from the shared ones other files sync into.
const prefix = `${uniqueWord('act')}_`;
beforeAll(async () => {
  // No worker: these tests call the activity functions directly, so nothing else drains the outbox meanwhile.
  t = await startTestApp();
  const config = { ...t.config, meili: { ...t.config.meili, indexPrefix: prefix } };
  const search = createSearchClient(config.meili);
  await ensureIndexes(search, config.meili.indexPrefix);
  const mailer = createMailer(config.smtp);
  activities = createActivities({ db: t.db, search, mailer, config, temporal: t.temporal });
  return () => mailer.close();
});
afterAll(() => t.close());

async function documentIds(name: string): Promise<string[]> {
  const response = await t.app.meili
    .index(`${prefix}${name}`)
    .getDocuments({ limit: 1000, fields: ['id'] });
  return response.results.map((d) => String(d.id)).sort();
}

describe('search activities', () => {
  it('upsert, remove and remove-a-customer are idempotent and applied when they return', async () => {
    const customer = (
      await t.call('POST', '/v1/customers', { body: { name: 'Indexed One' } })
    ).json<{ id: string }>();
    const conversation = (
      await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
        body: { channel: 'email', subject: 'Hi' },
      })
    ).json<{ id: string }>();

    for (let i = 0; i < 2; i++) {
      expect(await activities.upsertSearchDocuments('customer', [customer.id])).toEqual({
        upserted: 1,
        removed: 0,
      });
      await activities.upsertSearchDocuments('conversation', [conversation.id]);
    }
    expect(await documentIds('customers')).toContain(customer.id);
    expect(await documentIds('conversations')).toContain(conversation.id);

    await activities.removeSearchDocuments('conversation', [conversation.id]);
    await activities.removeSearchDocuments('conversation', [conversation.id]);
    expect(await documentIds('conversations')).not.toContain(conversation.id);

    await activities.upsertSearchDocuments('conversation', [conversation.id]);
    await activities.removeCustomerFromSearch(customer.id);
    await activities.removeCustomerFromSearch(customer.id);
    expect(await documentIds('customers')).not.toContain(customer.id);
    expect(await documentIds('conversations')).not.toContain(conversation.id);

    // Upserting an ID that Postgres no longer has removes it from the index.
    await activities.upsertSearchDocuments('customer', [customer.id]);
    await t.db.execute(sql`delete from customers where id = ${customer.id}`);
    expect(await activities.upsertSearchDocuments('customer', [customer.id])).toEqual({
      upserted: 0,
      removed: 1,
    });
    expect(await documentIds('customers')).not.toContain(customer.id);
  });
});
