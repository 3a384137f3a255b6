import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributeDefinitions, auditLog, companies, customers } from '../../db/schema';
import {
  decodedHistory,
  eventually,
  problemOf,
  startTestApp,
  uniqueName,
  uniqueWord,
  userWithKey,
  type TestApp,
} from '../helpers';
import { holdCustomerRow, jobWhenFinished, type Job } from '../job-helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

interface Definition {
  id: string;
  entity: string;
  name: string;
  type: string;
  options: string[] | null;
  status: string;
  clearJobId: string | null;
}

/** A name no other test (or test file: they share the database) defines. */
const attrName = (prefix: string) => `${prefix}${uniqueWord('')}`;

const define = (body: Record<string, unknown>) =>
  t.create<Definition>('/v1/attribute-definitions', {
    entity: 'customer',
    label: 'A label',
    ...body,
  });

const newCustomer = (customAttributes: Record<string, unknown> = {}) =>
  t.create<{ id: string; customAttributes: Record<string, unknown> }>('/v1/customers', {
    name: uniqueName('Attr'),
    customAttributes,
  });

const storedAttributes = async (id: string) => {
  const [row] = await t.db
    .select({ a: customers.customAttributes })
    .from(customers)
    .where(eq(customers.id, id));
  return row?.a;
};

describe('defining attributes', () => {
  it('lets admins define, change and list attributes; anyone with a key reads them; others may not write', async () => {
    const name = attrName('plan');
    const plan = await define({
      name,
      label: 'Plan',
      type: 'select',
      options: ['free', 'pro'],
      description: 'What they pay for',
      filterable: true,
    });
    expect(plan).toMatchObject({
      entity: 'customer',
      name,
      label: 'Plan',
      type: 'select',
      options: ['free', 'pro'],
      searchable: false,
      filterable: true,
      status: 'active',
      clearJobId: null,
    });
    const reader = await userWithKey(t.db);
    const listed = await t.call('GET', '/v1/attribute-definitions?entity=customer', {
      key: reader.key,
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ items: Definition[] }>().items.map((d) => d.name)).toContain(name);
    expect(
      (await t.call('GET', `/v1/attribute-definitions/${plan.id}`, { key: reader.key })).json(),
    ).toMatchObject({ name });

    for (const [method, url, body] of [
      [
        'POST',
        '/v1/attribute-definitions',
        { entity: 'customer', name: attrName('x'), label: 'X', type: 'text' },
      ],
      ['PATCH', `/v1/attribute-definitions/${plan.id}`, { label: 'Tier' }],
      ['DELETE', `/v1/attribute-definitions/${plan.id}`, undefined],
    ] as const) {
      const refused = await t.call(method, url, { key: reader.key, body });
      expect(refused.statusCode, `${method} ${url}`).toBe(403);
      expect(problemOf(refused).code).toBe('FORBIDDEN');
    }
    const changed = await t.call('PATCH', `/v1/attribute-definitions/${plan.id}`, {
      body: { label: 'Tier', options: ['free', 'pro', 'enterprise'] },
    });
    expect(changed.json()).toMatchObject({ label: 'Tier', options: ['free', 'pro', 'enterprise'] });
    const audited = await t.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.objectId, plan.id));
    expect(audited.map((a) => a.action).sort()).toEqual([
      'attribute_definition.created',
      'attribute_definition.updated',
    ]);
  });

  it('refuses bad names and options with 400 naming the field', async () => {
    for (const name of ['Plan', '1plan', 'plan-x', 'a'.repeat(64)]) {
      const response = await t.call('POST', '/v1/attribute-definitions', {
        body: { entity: 'customer', name, label: 'X', type: 'text' },
      });
      expect(response.statusCode, name).toBe(400);
      expect(problemOf(response).code).toBe('VALIDATION_FAILED');
    }
    const noOptions = await t.call('POST', '/v1/attribute-definitions', {
      body: { entity: 'customer', name: attrName('s'), label: 'S', type: 'select' },
    });
    expect(problemOf(noOptions)).toMatchObject({
      code: 'ATTRIBUTE_OPTIONS_INVALID',
      field: 'options',
    });
    const optionsOnText = await t.call('POST', '/v1/attribute-definitions', {
      body: { entity: 'customer', name: attrName('s'), label: 'S', type: 'text', options: ['a'] },
    });
    expect(problemOf(optionsOnText)).toMatchObject({
      code: 'ATTRIBUTE_OPTIONS_NOT_ALLOWED',
      field: 'options',
    });
  });

  it('gives exactly one 201 to dozens of parallel definitions of one name, 409 ATTRIBUTE_NAME_TAKEN to the rest', async () => {
    const name = attrName('race');
    const responses = await Promise.all(
      Array.from({ length: 30 }, () =>
        t.call('POST', '/v1/attribute-definitions', {
          body: { entity: 'customer', name, label: 'Race', type: 'number' },
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(29);
    for (const r of responses.filter((r) => r.statusCode === 409))
      expect(problemOf(r).code).toBe('ATTRIBUTE_NAME_TAKEN');
    const rows = await t.db
      .select()
      .from(attributeDefinitions)
      .where(and(eq(attributeDefinitions.entity, 'customer'), eq(attributeDefinitions.name, name)));
    expect(rows).toHaveLength(1);
    // The same name is free for companies: each entity has its own attributes.
    await t.create('/v1/attribute-definitions', {
      entity: 'company',
      name,
      label: 'Race',
      type: 'text',
    });
  });
});

describe('values checked against definitions', () => {
  it('refuses an unknown attribute, a wrong type and a value not in the list with 400 naming the field', async () => {
    const seats = attrName('seats');
    const tier = attrName('tier');
    await define({ name: seats, type: 'number' });
    await define({ name: tier, type: 'select', options: ['gold', 'silver'] });
    const customer = await newCustomer({ [seats]: 3, [tier]: 'gold' });
    expect(customer.customAttributes).toEqual({ [seats]: 3, [tier]: 'gold' });

    const unknown = await t.call('POST', '/v1/customers', {
      body: { name: 'X', customAttributes: { [seats]: 1, nosuchattribute: 'x' } },
    });
    expect(unknown.statusCode).toBe(400);
    expect(problemOf(unknown)).toMatchObject({
      code: 'ATTRIBUTE_UNKNOWN',
      field: 'customAttributes.nosuchattribute',
      attribute: 'nosuchattribute',
    });
    const wrongType = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { customAttributes: { [seats]: 'three' } },
    });
    expect(wrongType.statusCode).toBe(400);
    expect(problemOf(wrongType)).toMatchObject({
      code: 'ATTRIBUTE_INVALID',
      field: `customAttributes.${seats}`,
      attributeType: 'number',
    });
    const notListed = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { customAttributes: { [tier]: 'bronze' } },
    });
    expect(problemOf(notListed)).toMatchObject({
      code: 'ATTRIBUTE_INVALID',
      field: `customAttributes.${tier}`,
      allowed: ['gold', 'silver'],
    });
    expect(problemOf(notListed).detail).toContain('"gold", "silver"');
    expect(await storedAttributes(customer.id)).toEqual({ [seats]: 3, [tier]: 'gold' });

    // Companies have attributes of their own.
    const founded = attrName('founded');
    await t.create('/v1/attribute-definitions', {
      entity: 'company',
      name: founded,
      label: 'Founded',
      type: 'date',
    });
    const company = await t.create<{ id: string }>('/v1/companies', {
      name: uniqueName('Attr Co'),
      customAttributes: { [founded]: '1998-04-01' },
    });
    const badDate = await t.call('PATCH', `/v1/companies/${company.id}`, {
      body: { customAttributes: { [founded]: '1998-02-30' } },
    });
    expect(problemOf(badDate)).toMatchObject({
      code: 'ATTRIBUTE_INVALID',
      field: `customAttributes.${founded}`,
    });
    const customerOnly = await t.call('PATCH', `/v1/companies/${company.id}`, {
      body: { customAttributes: { [seats]: 3 } },
    });
    expect(problemOf(customerOnly)).toMatchObject({ code: 'ATTRIBUTE_UNKNOWN', attribute: seats });
  });

  it('keeps rows with attributes stored before any definition working: written back as read, or left alone', async () => {
    const seats = attrName('seats');
    await define({ name: seats, type: 'number' });
    const customer = await newCustomer();
    await t.db
      .update(customers)
      .set({ customAttributes: { legacyThing: { free: 'form' } } })
      .where(eq(customers.id, customer.id));
    const renamed = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { name: 'Renamed' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    const read = renamed.json<{ customAttributes: Record<string, unknown> }>().customAttributes;
    expect(read).toEqual({ legacyThing: { free: 'form' } });
    const writtenBack = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { customAttributes: { ...read, [seats]: 2 } },
    });
    expect(writtenBack.statusCode, writtenBack.body).toBe(200);
    const changedLegacy = await t.call('PATCH', `/v1/customers/${customer.id}`, {
      body: { customAttributes: { legacyThing: 'changed' } },
    });
    expect(problemOf(changedLegacy)).toMatchObject({
      code: 'ATTRIBUTE_UNKNOWN',
      attribute: 'legacyThing',
    });
    expect(await storedAttributes(customer.id)).toEqual({
      legacyThing: { free: 'form' },
      [seats]: 2,
    });
  });

  it('never stores a value of another type than its definition says, with writes and a type change at once', async () => {
    const score = attrName('score');
    const definition = await define({ name: score, type: 'number' });
    const targets = await Promise.all(Array.from({ length: 12 }, () => newCustomer()));
    const [writes, change] = await Promise.all([
      Promise.all(
        targets.map((c, i) =>
          t.call('PATCH', `/v1/customers/${c.id}`, { body: { customAttributes: { [score]: i } } }),
        ),
      ),
      t.call('PATCH', `/v1/attribute-definitions/${definition.id}`, { body: { type: 'text' } }),
    ]);
    const written = writes.filter((w) => w.statusCode === 200).length;
    for (const w of writes.filter((w) => w.statusCode !== 200))
      expect(problemOf(w)).toMatchObject({ code: 'ATTRIBUTE_INVALID', attributeType: 'text' });
    const [row] = await t.db
      .select({ type: attributeDefinitions.type })
      .from(attributeDefinitions)
      .where(eq(attributeDefinitions.id, definition.id));
    if (change.statusCode === 200) {
      expect(row!.type).toBe('text');
      expect(written).toBe(0);
    } else {
      expect(problemOf(change)).toMatchObject({ code: 'ATTRIBUTE_HAS_VALUES', count: written });
      expect(row!.type).toBe('number');
      expect(written).toBeGreaterThan(0);
    }
    const values = await t.db.execute<{ v: unknown }>(
      sql`select custom_attributes -> ${score} as v from customers where custom_attributes ? ${score}`,
    );
    expect(
      values.rows.every((r) => typeof r.v === (row!.type === 'number' ? 'number' : 'string')),
    ).toBe(true);
  });
});

describe('changing and removing definitions with values', () => {
  it('refuses a type change and a removal while values exist with 409 and their count', async () => {
    const name = attrName('level');
    const definition = await define({ name, type: 'number' });
    const unused = await define({ name: attrName('unused'), type: 'number' });
    expect(
      (
        await t.call('PATCH', `/v1/attribute-definitions/${unused.id}`, { body: { type: 'text' } })
      ).json(),
    ).toMatchObject({ type: 'text' });
    await newCustomer({ [name]: 1 });
    await newCustomer({ [name]: 2 });
    const retype = await t.call('PATCH', `/v1/attribute-definitions/${definition.id}`, {
      body: { type: 'text' },
    });
    expect(retype.statusCode).toBe(409);
    expect(problemOf(retype)).toMatchObject({ code: 'ATTRIBUTE_HAS_VALUES', count: 2 });
    const remove = await t.call('DELETE', `/v1/attribute-definitions/${definition.id}`);
    expect(remove.statusCode).toBe(409);
    expect(problemOf(remove)).toMatchObject({ code: 'ATTRIBUTE_HAS_VALUES', count: 2 });
    expect(
      (await t.call('GET', `/v1/attribute-definitions/${definition.id}`)).json(),
    ).toMatchObject({
      type: 'number',
      status: 'active',
    });
    const removed = await t.call('DELETE', `/v1/attribute-definitions/${unused.id}`);
    expect(removed.statusCode).toBe(204);
    expect((await t.call('GET', `/v1/attribute-definitions/${unused.id}`)).statusCode).toBe(404);
  });

  it('refuses removing an option a value holds with 409 ATTRIBUTE_OPTION_IN_USE', async () => {
    const name = attrName('tags');
    const definition = await define({ name, type: 'multi-select', options: ['a', 'b', 'c'] });
    await newCustomer({ [name]: ['b'] });
    const response = await t.call('PATCH', `/v1/attribute-definitions/${definition.id}`, {
      body: { options: ['a', 'c'] },
    });
    expect(problemOf(response)).toMatchObject({
      code: 'ATTRIBUTE_OPTION_IN_USE',
      count: 1,
      options: ['b'],
    });
    const fine = await t.call('PATCH', `/v1/attribute-definitions/${definition.id}`, {
      body: { options: ['a', 'b'] },
    });
    expect(fine.statusCode).toBe(200);
  });

  it('clears the values in a job on ?clearValues=true; the name stays taken until the job completes', async () => {
    const name = attrName('gone');
    const definition = await define({ name, type: 'text', filterable: true });
    const word = uniqueWord();
    const holders = await Promise.all(
      [1, 2, 3].map((i) => newCustomer({ [name]: `${word}-${i}` })),
    );
    const other = await newCustomer({});
    // A held row keeps the job at its first batch, so the clearing state can be looked at.
    const hold = await holdCustomerRow(
      t,
      [...holders].sort((a, b) => a.id.localeCompare(b.id))[0]!.id,
    );
    let job: Job;
    try {
      const started = await t.call(
        'DELETE',
        `/v1/attribute-definitions/${definition.id}?clearValues=true`,
        {
          headers: { 'idempotency-key': `clear-${name}` },
        },
      );
      expect(started.statusCode, started.body).toBe(202);
      job = started.json<{ job: Job }>().job;
      expect(job).toMatchObject({
        type: 'attribute_clear',
        params: { entity: 'customer', definitionId: definition.id, attribute: name },
        workflowId: `attribute-clear-${job.id}`,
      });
      const again = await t.call(
        'DELETE',
        `/v1/attribute-definitions/${definition.id}?clearValues=true`,
        {
          headers: { 'idempotency-key': `clear-${name}` },
        },
      );
      expect(again.json<{ job: Job }>().job.id).toBe(job.id);
      expect(
        (await t.call('GET', `/v1/attribute-definitions/${definition.id}`)).json(),
      ).toMatchObject({
        status: 'clearing',
        clearJobId: job.id,
      });
      const redefine = await t.call('POST', '/v1/attribute-definitions', {
        body: { entity: 'customer', name, label: 'Again', type: 'number' },
      });
      expect(redefine.statusCode).toBe(409);
      expect(problemOf(redefine)).toMatchObject({ code: 'ATTRIBUTE_BEING_CLEARED', jobId: job.id });
      const write = await t.call('PATCH', `/v1/customers/${other.id}`, {
        body: { customAttributes: { [name]: 'new' } },
      });
      expect(problemOf(write)).toMatchObject({ code: 'ATTRIBUTE_UNKNOWN', attribute: name });
    } finally {
      await hold.release();
    }
    const finished = await jobWhenFinished(t, job.id);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { total: 3, done: 3, failed: 0 },
    });
    for (const holder of holders) expect(await storedAttributes(holder.id)).toEqual({});
    expect((await t.call('GET', `/v1/attribute-definitions/${definition.id}`)).statusCode).toBe(
      404,
    );
    const actions = await t.db
      .select({ action: auditLog.action, jobId: auditLog.jobId })
      .from(auditLog)
      .where(eq(auditLog.objectId, definition.id));
    expect(actions).toEqual(
      expect.arrayContaining([
        { action: 'attribute_definition.clear_requested', jobId: job.id },
        { action: 'attribute_definition.deleted', jobId: job.id },
      ]),
    );
    // No value crossed into Temporal: the history names the attribute and IDs only.
    const history = await decodedHistory(t.temporal, job.workflowId);
    expect(history).not.toContain(word);
    // The name is free again.
    await define({ name, type: 'number' });
  });
});

describe('filtering search by attributes', () => {
  it('filters customers by filterable attributes, numbers and dates by value', async () => {
    const word = uniqueWord();
    const score = attrName('score');
    const since = attrName('since');
    const note = attrName('note');
    await define({ name: score, type: 'number', filterable: true });
    await define({ name: since, type: 'date', filterable: true });
    const noteDefinition = await define({ name: note, type: 'text' });
    const make = (name: string, attributes: Record<string, unknown>) =>
      t.create<{ id: string }>('/v1/customers', {
        name: `${word} ${name}`,
        customAttributes: attributes,
      });
    const low = await make('Low', { [score]: 9, [since]: '2019-12-31', [note]: 'quiet' });
    const high = await make('High', { [score]: 10, [since]: '2020-01-01' });
    const higher = await make('Higher', { [score]: 100, [since]: '2024-06-30' });
    const search = async (query: string) => {
      const response = await t.call('GET', `/v1/search/customers?q=${word}&${query}`);
      expect(response.statusCode, response.body).toBe(200);
      return response
        .json<{ hits: { id: string }[] }>()
        .hits.map((h) => h.id)
        .sort();
    };
    const sorted = (...ids: string[]) => ids.sort();
    // 9 < 10 < 100 by value; as texts "100" < "9".
    await eventually(async () =>
      (await search(`attr.${score}=gte:10`)).length === 2 ? true : undefined,
    );
    expect(await search(`attr.${score}=gte:10`)).toEqual(sorted(high.id, higher.id));
    expect(await search(`attr.${score}=lt:10`)).toEqual([low.id]);
    expect(await search(`attr.${score}=100`)).toEqual([higher.id]);
    expect(await search(`attr.${since}=between:2020-01-01,2023-12-31`)).toEqual([high.id]);
    expect(await search(`attr.${since}=gt:2020-01-01`)).toEqual([higher.id]);

    const notFilterable = await t.call('GET', `/v1/search/customers?q=${word}&attr.${note}=quiet`);
    expect(notFilterable.statusCode).toBe(400);
    expect(problemOf(notFilterable)).toMatchObject({
      code: 'ATTRIBUTE_NOT_FILTERABLE',
      attribute: note,
    });
    const unknown = await t.call('GET', `/v1/search/customers?q=${word}&attr.nosuchthing=1`);
    expect(problemOf(unknown)).toMatchObject({
      code: 'UNKNOWN_FILTER',
      filter: 'attr.nosuchthing',
    });
    const badValue = await t.call('GET', `/v1/search/customers?q=${word}&attr.${score}=gt:many`);
    expect(problemOf(badValue)).toMatchObject({
      code: 'INVALID_FILTER_VALUE',
      filter: `attr.${score}`,
    });
    const onConversations = await t.call('GET', `/v1/search/conversations?attr.${score}=1`);
    expect(onConversations.statusCode).toBe(400);

    // Made filterable later: the customers holding it are indexed again.
    await t.call('PATCH', `/v1/attribute-definitions/${noteDefinition.id}`, {
      body: { filterable: true },
    });
    await eventually(async () => {
      const response = await t.call('GET', `/v1/search/customers?q=${word}&attr.${note}=quiet`);
      const ids = response.json<{ hits?: { id: string }[] }>().hits?.map((h) => h.id);
      return ids?.length === 1 && ids[0] === low.id ? true : undefined;
    });

    // Saved searches take the same filters and refuse the same way.
    const saved = await t.create<{ id: string }>('/v1/saved-searches', {
      name: 'High scores',
      index: 'customers',
      q: word,
      filters: { [`attr.${score}`]: 'gt:50' },
    });
    const results = await t.call('GET', `/v1/saved-searches/${saved.id}/results`);
    expect(results.json<{ hits: { id: string }[] }>().hits.map((h) => h.id)).toEqual([higher.id]);
    const refused = await t.call('POST', '/v1/saved-searches', {
      body: { name: 'x', index: 'customers', filters: { 'attr.nosuchthing': '1' } },
    });
    expect(problemOf(refused).code).toBe('UNKNOWN_FILTER');
  });

  it('finds customers by searchable attributes', async () => {
    const word = uniqueWord();
    const nickname = attrName('nick');
    await define({ name: nickname, type: 'text', searchable: true });
    const customer = await newCustomer({ [nickname]: word });
    await eventually(async () => {
      const hits = (await t.call('GET', `/v1/search/customers?q=${word}`)).json<{
        hits: { id: string }[];
      }>().hits;
      return hits.length === 1 && hits[0]!.id === customer.id ? true : undefined;
    });
  });
});

describe('attribute values are personal data', () => {
  it('go with the profile when a customer is erased', async () => {
    const secret = attrName('secret');
    await define({ name: secret, type: 'text' });
    const customer = await newCustomer({ [secret]: 'only-here' });
    const deleted = await t.call('DELETE', `/v1/customers/${customer.id}`, {
      body: { confirm: 'DELETE' },
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const left = await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from customers where custom_attributes ? ${secret}`,
    );
    expect(left.rows[0]!.n).toBe(0);
    expect(await storedAttributes(customer.id)).toBeUndefined();
    const [row] = await t.db
      .select()
      .from(companies)
      .where(sql`custom_attributes ? ${secret}`);
    expect(row).toBeUndefined();
  });
});

describe('typed fields of a klass', () => {
  it('checks KObject data against the klass fields; a klass without fields takes any data', async () => {
    const customer = await newCustomer();
    const typed = `k${uniqueWord('')}`;
    const free = `k${uniqueWord('')}`;
    const klass = await t.create<{ fields: unknown[] }>('/v1/klasses', {
      name: typed,
      title: 'Order',
      fields: [
        { name: 'total', label: 'Total', type: 'number' },
        { name: 'state', label: 'State', type: 'select', options: ['open', 'paid'] },
        { name: 'placedOn', label: 'Placed on', type: 'date' },
      ],
    });
    expect(klass.fields).toEqual([
      { name: 'total', label: 'Total', type: 'number', options: null, description: null },
      {
        name: 'state',
        label: 'State',
        type: 'select',
        options: ['open', 'paid'],
        description: null,
      },
      { name: 'placedOn', label: 'Placed on', type: 'date', options: null, description: null },
    ]);
    await t.create('/v1/klasses', { name: free, title: 'Anything' });
    const post = (klassName: string, data: Record<string, unknown>) =>
      t.call('POST', `/v1/customers/${customer.id}/kobjects`, {
        body: { klass: klassName, title: 'An order', data },
      });

    expect(
      (await post(typed, { total: 12.5, state: 'paid', placedOn: '2026-01-02' })).statusCode,
    ).toBe(201);
    const wrong = await post(typed, { total: '12.5' });
    expect(problemOf(wrong)).toMatchObject({
      code: 'ATTRIBUTE_INVALID',
      field: 'data.total',
      attributeType: 'number',
    });
    const notListed = await post(typed, { state: 'lost' });
    expect(problemOf(notListed)).toMatchObject({ field: 'data.state', allowed: ['open', 'paid'] });
    const unknown = await post(typed, { colour: 'red' });
    expect(problemOf(unknown)).toMatchObject({ code: 'ATTRIBUTE_UNKNOWN', field: 'data.colour' });
    expect((await post(free, { colour: 'red', nested: { deep: [1, 2] } })).statusCode).toBe(201);

    const repeated = await t.call('POST', '/v1/klasses', {
      body: {
        name: `k${uniqueWord('')}`,
        title: 'Bad',
        fields: [
          { name: 'a', label: 'A', type: 'text' },
          { name: 'a', label: 'A again', type: 'number' },
        ],
      },
    });
    expect(problemOf(repeated)).toMatchObject({
      code: 'FIELD_NAME_REPEATED',
      field: 'fields.1.name',
    });
    const noOptions = await t.call('POST', '/v1/klasses', {
      body: {
        name: `k${uniqueWord('')}`,
        title: 'Bad',
        fields: [{ name: 'a', label: 'A', type: 'select' }],
      },
    });
    expect(problemOf(noOptions)).toMatchObject({
      code: 'ATTRIBUTE_OPTIONS_INVALID',
      field: 'fields.0.options',
    });
  });
});
