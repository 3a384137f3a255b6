import { boolean, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { AttributeEntity, AttributeType } from '../../domain/attributes';
import { createdAt, id, updatedAt } from './columns';
import { jobs } from './jobs';

/**
 * A typed custom attribute of customers or companies. `status` is `clearing`
 * while a job removes the attribute's values; the row goes once they are
 * gone, and until then its name cannot be defined again.
 */
export const attributeDefinitions = pgTable(
  'attribute_definitions',
  {
    id: id(),
    entity: text('entity').$type<AttributeEntity>().notNull(),
    name: text('name').notNull(),
    label: text('label').notNull(),
    type: text('type').$type<AttributeType>().notNull(),
    options: jsonb('options').$type<string[]>(),
    description: text('description'),
    searchable: boolean('searchable').notNull().default(false),
    filterable: boolean('filterable').notNull().default(false),
    status: text('status', { enum: ['active', 'clearing'] })
      .notNull()
      .default('active'),
    clearJobId: uuid('clear_job_id').references(() => jobs.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('attribute_definitions_entity_name_key').on(t.entity, t.name)],
);
