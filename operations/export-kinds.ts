/**
 * The kinds of record a customer export holds, each one file (JSON, or JSON
 * Lines for the large kinds) and one CSV. Each kind reads one keyset page:
 * `row` is the record as exported (json_build_object keeps the key order the
 * CSV's columns follow), `cursor` the keyset position after it, as text so a
 * timestamp keeps its microseconds.
 */
import { sql, type SQL } from 'drizzle-orm';

export interface ExportKind {
  /** The key in the manifest's counts, and the CSV's name (`csv/<name>.csv`). */
  name: string;
  file: string;
  /** One record, written as an object rather than a list. */
  single?: boolean;
  /** The CSV header when the kind has no rows; otherwise the first row's keys. */
  columns?: string[];
  page(customerId: string, after: string[] | null, limit: number): SQL;
}

const pos = (after: string[] | null, at: number) => after?.[at] ?? null;

export const exportKinds: ExportKind[] = [
  {
    name: 'profile',
    file: 'profile.json',
    single: true,
    page: (customerId) => sql`
      select json_build_object(
        'id', c.id, 'name', c.name, 'companyId', c.company_id, 'companyName', co.name,
        'externalId', c.external_id, 'customAttributes', c.custom_attributes,
        'createdAt', c.created_at, 'updatedAt', c.updated_at, 'lastActivityAt', c.last_activity_at
      ) as row, array[c.id::text] as cursor
      from customers c left join companies co on co.id = c.company_id
      where c.id = ${customerId}`,
  },
  {
    name: 'attributes',
    file: 'attributes.json',
    columns: ['name', 'value'],
    page: (customerId, after, limit) => sql`
      select json_build_object('name', a.key, 'value', a.value) as row, array[a.key] as cursor
      from customers c, jsonb_each(c.custom_attributes) a
      where c.id = ${customerId} and (${pos(after, 0)}::text is null or a.key > ${pos(after, 0)})
      order by a.key limit ${limit}`,
  },
  {
    name: 'contact_points',
    file: 'contact_points.json',
    columns: ['kind', 'value', 'preferred', 'e164', 'network'],
    // Bounded by the profile's own limits: one page holds them all.
    page: (customerId, after, limit) => sql`
      with points as (
        select 1 as k, e.n, json_build_object('kind', 'email', 'value', e.v->>'address',
          'preferred', (e.v->>'preferred')::boolean, 'e164', null, 'network', null) as row
        from customers c, jsonb_array_elements(c.emails) with ordinality e(v, n) where c.id = ${customerId}
        union all
        select 2, p.n, json_build_object('kind', 'phone', 'value', p.v->>'number',
          'preferred', (p.v->>'preferred')::boolean, 'e164', p.v->>'e164', 'network', null)
        from customers c, jsonb_array_elements(c.phones) with ordinality p(v, n) where c.id = ${customerId}
        union all
        select 3, s.n, json_build_object('kind', 'social', 'value', s.v->>'handle',
          'preferred', null, 'e164', null, 'network', s.v->>'network')
        from customers c, jsonb_array_elements(c.social_handles) with ordinality s(v, n) where c.id = ${customerId}
        union all
        select 4, w.n, json_build_object('kind', 'website', 'value', w.v #>> '{}',
          'preferred', null, 'e164', null, 'network', null)
        from customers c, jsonb_array_elements(c.websites) with ordinality w(v, n) where c.id = ${customerId}
      )
      select row, array[k::text, n::text] as cursor from points
      where ${pos(after, 0)}::int is null or (k, n) > (${pos(after, 0)}::int, ${pos(after, 1)}::int)
      order by k, n limit ${limit}`,
  },
  {
    name: 'conversations',
    file: 'conversations.json',
    columns: ['id', 'channel', 'subject', 'status', 'createdAt', 'lastActivityAt', 'pinnedAt'],
    page: (customerId, after, limit) => sql`
      select json_build_object('id', id, 'channel', channel, 'subject', subject, 'status', status,
        'createdAt', created_at, 'lastActivityAt', last_activity_at, 'pinnedAt', pinned_at) as row,
        array[id::text] as cursor
      from conversations
      where customer_id = ${customerId} and (${pos(after, 0)}::uuid is null or id > ${pos(after, 0)}::uuid)
      order by id limit ${limit}`,
  },
  {
    name: 'messages',
    file: 'messages.jsonl',
    columns: ['id', 'conversationId', 'direction', 'body', 'sentAt'],
    // Keyset on the messages index (conversation, time), the ID breaking ties.
    page: (customerId, after, limit) => sql`
      select json_build_object('id', m.id, 'conversationId', m.conversation_id,
        'direction', m.direction, 'body', m.body, 'sentAt', m.sent_at) as row,
        array[m.conversation_id::text, m.sent_at::text, m.id::text] as cursor
      from messages m
      where m.conversation_id = any(array(select id from conversations where customer_id = ${customerId}))
        and (${pos(after, 0)}::uuid is null
          or (m.conversation_id, m.sent_at, m.id)
             > (${pos(after, 0)}::uuid, ${pos(after, 1)}::timestamptz, ${pos(after, 2)}::uuid))
      order by m.conversation_id, m.sent_at, m.id limit ${limit}`,
  },
  {
    name: 'kobjects',
    file: 'kobjects.json',
    columns: [
      'id',
      'klass',
      'klassTitle',
      'title',
      'data',
      'createdAt',
      'lastActivityAt',
      'pinnedAt',
    ],
    page: (customerId, after, limit) => sql`
      select json_build_object('id', o.id, 'klass', k.name, 'klassTitle', k.title, 'title', o.title,
        'data', o.data, 'createdAt', o.created_at, 'lastActivityAt', o.last_activity_at,
        'pinnedAt', o.pinned_at) as row, array[o.id::text] as cursor
      from kobjects o join klasses k on k.id = o.klass_id
      where o.customer_id = ${customerId} and (${pos(after, 0)}::uuid is null or o.id > ${pos(after, 0)}::uuid)
      order by o.id limit ${limit}`,
  },
  {
    name: 'events',
    file: 'events.jsonl',
    columns: ['id', 'type', 'occurredAt', 'properties', 'externalId', 'createdAt'],
    // Newest first, on the (customer, occurred_at desc, id desc) index.
    page: (customerId, after, limit) => sql`
      select json_build_object('id', id, 'type', type, 'occurredAt', occurred_at,
        'properties', properties, 'externalId', external_id, 'createdAt', created_at) as row,
        array[occurred_at::text, id::text] as cursor
      from engagement_events
      where customer_id = ${customerId}
        and (${pos(after, 0)}::timestamptz is null
          or (occurred_at, id) < (${pos(after, 0)}::timestamptz, ${pos(after, 1)}::uuid))
      order by occurred_at desc, id desc limit ${limit}`,
  },
  {
    name: 'merged_customers',
    file: 'merged_customers.json',
    columns: ['customerId', 'jobId', 'mergedAt'],
    page: (customerId, after, limit) => sql`
      select json_build_object('customerId', source_customer_id, 'jobId', job_id,
        'mergedAt', created_at) as row, array[source_customer_id::text] as cursor
      from merge_redirects
      where target_customer_id = ${customerId}
        and (${pos(after, 0)}::uuid is null or source_customer_id > ${pos(after, 0)}::uuid)
      order by source_customer_id limit ${limit}`,
  },
  {
    name: 'privacy_requests',
    file: 'privacy_requests.json',
    // Every column but the caller's idempotency key, so columns added later are exported too.
    page: (customerId, after, limit) => sql`
      select (select json_object_agg(f.key, f.value) from json_each(to_json(g)) f
        where f.key <> 'idempotency_key') as row, array[g.id::text] as cursor
      from gdpr_requests g
      where g.customer_id = ${customerId} and (${pos(after, 0)}::uuid is null or g.id > ${pos(after, 0)}::uuid)
      order by g.id limit ${limit}`,
  },
  {
    name: 'audit',
    file: 'audit.jsonl',
    columns: ['id', 'at', 'action', 'objectType', 'objectId', 'jobId'],
    // Entries about the customer, the customers merged into it, its items and its requests:
    // IDs and actions only (details stay out), joined on the (object_type, object_id) index.
    page: (customerId, after, limit) => sql`
      with about(object_type, object_id) as (
        select 'customer', ${customerId}::uuid
        union all select 'customer', source_customer_id from merge_redirects where target_customer_id = ${customerId}
        union all select 'conversation', id from conversations where customer_id = ${customerId}
        union all select 'kobject', id from kobjects where customer_id = ${customerId}
        union all select 'gdpr_request', id from gdpr_requests where customer_id = ${customerId}
      )
      select json_build_object('id', a.id, 'at', a.created_at, 'action', a.action,
        'objectType', a.object_type, 'objectId', a.object_id, 'jobId', a.job_id) as row,
        array[a.id::text] as cursor
      from audit_log a join about b on b.object_type = a.object_type and b.object_id = a.object_id
      where a.id > coalesce(${pos(after, 0)}::bigint, 0)
      order by a.id limit ${limit}`,
  },
];
