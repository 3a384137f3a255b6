import { asc, eq, gt, sql } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { DomainError, notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { isUniqueViolation } from '../errors';
import { checkAttributeWrite, lockStoredAttributes } from './attribute-definitions';
import { enqueueCompanyCustomers } from './search-outbox';
import { companies } from '../schema';

export type CompanyRow = typeof companies.$inferSelect;

export async function createCompany(
  db: Queryable,
  values: { name: string; customAttributes?: Record<string, unknown> | undefined },
): Promise<CompanyRow> {
  try {
    return await db.transaction(async (tx) => {
      await checkAttributeWrite(tx, 'company', values.customAttributes);
      const [row] = await tx
        .insert(companies)
        .values({ name: values.name.trim(), customAttributes: values.customAttributes ?? {} })
        .returning();
      return row!;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'companies_name_key')) {
      throw new DomainError(
        'conflict',
        'COMPANY_NAME_TAKEN',
        `A company named "${values.name.trim()}" already exists.`,
      );
    }
    throw error;
  }
}

export async function getCompany(db: Queryable, id: string): Promise<CompanyRow> {
  const [row] = await db.select().from(companies).where(eq(companies.id, id));
  if (!row) throw notFound('Company', id);
  return row;
}

export async function listCompanies(
  db: Queryable,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
) {
  const after = cursor ? decodeCursor(cursor, ['uuid'])[0] : undefined;
  const rows = await db
    .select()
    .from(companies)
    .where(after === undefined ? undefined : gt(companies.id, String(after)))
    .orderBy(asc(companies.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page,
    nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.id]) : null,
  };
}

export async function updateCompany(
  db: Queryable,
  id: string,
  patch: { name?: string | undefined; customAttributes?: Record<string, unknown> | undefined },
): Promise<CompanyRow> {
  try {
    return await db.transaction(async (tx) => {
      await checkAttributeWrite(tx, 'company', patch.customAttributes, () =>
        lockStoredAttributes(tx, 'company', id),
      );
      const [row] = await tx
        .update(companies)
        .set({
          ...patch,
          ...(patch.name ? { name: patch.name.trim() } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(companies.id, id))
        .returning();
      if (!row) throw notFound('Company', id);
      if (patch.name !== undefined) await enqueueCompanyCustomers(tx, id);
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'companies_name_key')) {
      throw new DomainError(
        'conflict',
        'COMPANY_NAME_TAKEN',
        `A company named "${patch.name?.trim()}" already exists.`,
      );
    }
    throw error;
  }
}
