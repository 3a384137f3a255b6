import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { checkAttributes, type AttributeEntity, type AttributeRule } from '../../domain/attributes';
import { notFound } from '../../lib/errors';
import type { Queryable } from '../client';
import { attributeDefinitions } from '../schema';

export type AttributeDefinitionRow = typeof attributeDefinitions.$inferSelect;

/** The table and column an entity's attribute values live in (fixed names, never user input). */
export const attributeTables: Record<AttributeEntity, string> = {
  customer: 'customers',
  company: 'companies',
};

export const listAttributeDefinitions = (db: Queryable, entity?: AttributeEntity) =>
  db
    .select()
    .from(attributeDefinitions)
    .where(entity ? eq(attributeDefinitions.entity, entity) : undefined)
    .orderBy(asc(attributeDefinitions.entity), asc(attributeDefinitions.name));

export async function getAttributeDefinition(
  db: Queryable,
  id: string,
  { lock = false } = {},
): Promise<AttributeDefinitionRow> {
  const query = db.select().from(attributeDefinitions).where(eq(attributeDefinitions.id, id));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Attribute definition', id);
  return row;
}

/** How many rows of the entity hold a value (any value, `null` included) for the attribute. */
export async function countAttributeValues(
  db: Queryable,
  entity: AttributeEntity,
  name: string,
): Promise<number> {
  const result = await db.execute<{ count: number }>(sql`
    select count(*)::int as count from ${sql.raw(attributeTables[entity])}
    where custom_attributes ? ${name}`);
  return result.rows[0]?.count ?? 0;
}

/** The active definitions of an entity that search and the index use, by name. */
export async function activeAttributeRules(
  db: Queryable,
  entity: AttributeEntity,
): Promise<(AttributeRule & { searchable: boolean; filterable: boolean })[]> {
  return db
    .select({
      name: attributeDefinitions.name,
      type: attributeDefinitions.type,
      options: attributeDefinitions.options,
      searchable: attributeDefinitions.searchable,
      filterable: attributeDefinitions.filterable,
    })
    .from(attributeDefinitions)
    .where(and(eq(attributeDefinitions.entity, entity), eq(attributeDefinitions.status, 'active')));
}

/**
 * Checks the attributes a write sends against their definitions
 * (domain/attributes.ts), inside the write's transaction. The definitions
 * named are read FOR SHARE: a change of type or a removal (FOR UPDATE) waits
 * for this write to commit and then counts its value, and this write waits
 * for one that committed first and checks against what it left. Call it
 * before locking the entity's row, as every attribute write does: one order.
 * A definition being cleared counts as undefined.
 */
export async function checkAttributeWrite(
  tx: Queryable,
  entity: AttributeEntity,
  values: Record<string, unknown> | undefined,
  /** Locks the written row and reads its attributes, after the definitions are locked. */
  loadStored?: () => Promise<Record<string, unknown> | undefined>,
): Promise<void> {
  if (!values) return;
  const names = Object.keys(values);
  const rows =
    names.length === 0
      ? []
      : await tx
          .select({
            name: attributeDefinitions.name,
            type: attributeDefinitions.type,
            options: attributeDefinitions.options,
          })
          .from(attributeDefinitions)
          .where(
            and(
              eq(attributeDefinitions.entity, entity),
              inArray(attributeDefinitions.name, names),
              eq(attributeDefinitions.status, 'active'),
            ),
          )
          .orderBy(asc(attributeDefinitions.name))
          .for('share');
  const stored = loadStored ? await loadStored() : undefined;
  checkAttributes(values, {
    field: 'customAttributes',
    rules: new Map(rows.map((row) => [row.name, row])),
    stored,
  });
}

/** The stored attributes of one row, locked for the update that follows; undefined when it is gone. */
export async function lockStoredAttributes(
  tx: Queryable,
  entity: AttributeEntity,
  id: string,
): Promise<Record<string, unknown> | undefined> {
  const result = await tx.execute<{ custom_attributes: Record<string, unknown> }>(sql`
    select custom_attributes from ${sql.raw(attributeTables[entity])}
    where id = ${id} for no key update`);
  return result.rows[0]?.custom_attributes;
}
