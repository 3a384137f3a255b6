import { asc, eq } from 'drizzle-orm';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { klasses, kobjects } from '../schema';
import { touchCustomer } from './customers';
import { enqueueSearchSync } from './search-outbox';

export type KlassRow = typeof klasses.$inferSelect;

export async function createKlass(
  db: Queryable,
  values: { name: string; title: string },
): Promise<KlassRow> {
  try {
    const [row] = await db.insert(klasses).values(values).returning();
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
  db: Queryable,
  customerId: string,
  input: { klass: string; title: string; data?: Record<string, unknown> | undefined },
) {
  return db.transaction(async (tx) => {
    // A new KObject's last activity is the transaction's start, as the customer's becomes.
    await touchCustomer(tx, customerId);
    const [klass] = await tx.select().from(klasses).where(eq(klasses.name, input.klass));
    if (!klass) {
      throw new DomainError(
        'unprocessable',
        'KLASS_NOT_FOUND',
        `No klass is named "${input.klass}".`,
        {
          klass: input.klass,
        },
      );
    }
    const [row] = await tx
      .insert(kobjects)
      .values({ customerId, klassId: klass.id, title: input.title, data: input.data ?? {} })
      .returning();
    await enqueueSearchSync(tx, 'kobject', [row!.id]);
    return { ...row!, klass: klass.name };
  });
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
