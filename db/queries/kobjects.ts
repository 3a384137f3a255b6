import { asc, eq, sql } from 'drizzle-orm';
import { checkAttributes, checkFieldDefinitions } from '../../domain/attributes';
import { DomainError, notFound } from '../../lib/errors';
import type { Database, Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { customers, klasses, kobjects } from '../schema';
import { addToTimeline } from './timeline-writes';

export type KlassRow = typeof klasses.$inferSelect;

export async function createKlass(
  db: Queryable,
  values: {
    name: string;
    title: string;
    fields?: Parameters<typeof checkFieldDefinitions>[0] | undefined;
  },
): Promise<KlassRow> {
  const fields = values.fields ? checkFieldDefinitions(values.fields) : null;
  try {
    const [row] = await db
      .insert(klasses)
      .values({ name: values.name, title: values.title, fields })
      .returning();
    return row!;
  } catch (error) {
    if (isUniqueViolation(error, 'klasses_name_unique')) {
      throw new DomainError(
        'conflict',
        'KLASS_NAME_TAKEN',
        `A klass named "${values.name}" already exists.`,
      );
    }
    throw error;
  }
}

export const listKlasses = (db: Queryable) => db.select().from(klasses).orderBy(asc(klasses.name));

const kobjectColumns = {
  id: kobjects.id,
  customerId: kobjects.customerId,
  klass: klasses.name,
  title: kobjects.title,
  data: kobjects.data,
  createdAt: kobjects.createdAt,
  lastActivityAt: kobjects.lastActivityAt,
  pinnedAt: kobjects.pinnedAt,
};

export async function createKObject(
  db: Database,
  customerId: string,
  input: { klass: string; title: string; data?: Record<string, unknown> | undefined },
) {
  // A klass's fields never change once it exists, so reading them first races nothing.
  const [klass] = await db
    .select({ fields: klasses.fields })
    .from(klasses)
    .where(eq(klasses.name, input.klass));
  if (klass?.fields) {
    checkAttributes(input.data ?? {}, {
      field: 'data',
      rules: new Map(klass.fields.map((f) => [f.name, f])),
      defineAt: `a field of the klass ${input.klass}`,
    });
  }
  // A new KObject's last activity is the statement's start, as the customer's becomes.
  const written = await addToTimeline<{
    id: string;
    klass: string;
    data: Record<string, unknown>;
    createdAt: string;
    lastActivityAt: string;
  }>(db, {
    customerId,
    at: sql`now()`,
    lookups: sql`klass as (select id, name from klasses where name = ${input.klass})`,
    guard: sql`exists (select from klass)`,
    steps: sql`item as (
      insert into kobjects (customer_id, klass_id, title, data)
      select customer.id, klass.id, ${input.title}, ${JSON.stringify(input.data ?? {})}::jsonb
      from customer, klass
      returning id, data, created_at, last_activity_at
    )`,
    entity: 'kobject',
    returning: sql`item.id, (select name from klass) as klass, item.data,
      item.created_at as "createdAt", item.last_activity_at as "lastActivityAt"`,
  });
  if (!written) {
    const [customer] = await db
      .select({ id: customers.id })
      .from(customers)
      .where(eq(customers.id, customerId));
    if (!customer) throw notFound('Customer', customerId);
    throw new DomainError(
      'unprocessable',
      'KLASS_NOT_FOUND',
      `No klass is named "${input.klass}".`,
      {
        klass: input.klass,
      },
    );
  }
  return {
    id: written.id,
    customerId,
    klass: written.klass,
    title: input.title,
    data: written.data,
    createdAt: new Date(written.createdAt),
    lastActivityAt: new Date(written.lastActivityAt),
    pinnedAt: null,
    pinnedBy: null,
  };
}

export async function getKObject(db: Queryable, id: string) {
  const [row] = await db
    .select(kobjectColumns)
    .from(kobjects)
    .innerJoin(klasses, eq(klasses.id, kobjects.klassId))
    .where(eq(kobjects.id, id));
  if (!row) throw notFound('KObject', id);
  return row;
}
