/**
 * Defining, changing and removing typed custom attributes, and the job that
 * clears a removed attribute's values. Definitions are schema, not personal
 * data: their names may appear in job parameters, workflow payloads and the
 * audit log; the values never do.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/client';
import {
  attributeTables,
  countAttributeValues,
  getAttributeDefinition,
  type AttributeDefinitionRow,
} from '../db/queries/attribute-definitions';
import { audit } from '../db/queries/audit';
import {
  createJob,
  finishedStatuses,
  findJob,
  transitionJob,
  type JobRow,
} from '../db/queries/job-rows';
import { lastOutboxId } from '../db/queries/search-outbox';
import { isUniqueViolation } from '../db/errors';
import { attributeDefinitions, jobs } from '../db/schema';
import { uuidArray } from '../db/sql';
import {
  checkOptions,
  listTypes,
  type AttributeEntity,
  type AttributeType,
} from '../domain/attributes';
import { DomainError } from '../lib/errors';

export interface DefinitionFields {
  label: string;
  type: AttributeType;
  options?: string[] | null | undefined;
  description?: string | null | undefined;
  searchable?: boolean | undefined;
  filterable?: boolean | undefined;
}

const OBJECT_TYPE = 'attribute_definition';

const hasValues = (definition: AttributeDefinitionRow, count: number, what: string) =>
  new DomainError(
    'conflict',
    'ATTRIBUTE_HAS_VALUES',
    `${count} ${definition.entity === 'customer' ? 'customers hold' : 'companies hold'} a value for "${definition.name}", so it cannot ${what}. ` +
      (what === 'be removed'
        ? 'Remove it with ?clearValues=true to clear those values in a job first.'
        : 'Clear the values first (DELETE with ?clearValues=true) and define it again.'),
    { attribute: definition.name, count },
  );

const beingCleared = (definition: { name: string; clearJobId: string | null }) =>
  new DomainError(
    'conflict',
    'ATTRIBUTE_BEING_CLEARED',
    `The attribute "${definition.name}" is being removed and its values cleared (job ${definition.clearJobId}); its name can be used again once that job has completed.`,
    { attribute: definition.name, jobId: definition.clearJobId },
  );

/**
 * Customers whose search document shows this attribute are projected again
 * (searchable and filterable attributes are in the document; others are not).
 */
async function reindexHolders(tx: Queryable, entity: AttributeEntity, name: string) {
  if (entity !== 'customer') return;
  await tx.execute(sql`
    insert into search_outbox (entity, entity_id)
    select 'customer', id from customers where custom_attributes ? ${name}`);
  await tx.execute(sql`select pg_notify('custodian_search_outbox', '')`);
}

export async function createAttributeDefinition(
  db: Database,
  actorUserId: string,
  values: DefinitionFields & { entity: AttributeEntity; name: string },
): Promise<AttributeDefinitionRow> {
  const options = checkOptions(values.type, values.options);
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(attributeDefinitions)
        .values({
          entity: values.entity,
          name: values.name,
          label: values.label,
          type: values.type,
          options,
          description: values.description ?? null,
          searchable: values.searchable ?? false,
          filterable: values.filterable ?? false,
        })
        .returning();
      await audit(tx, [
        {
          actorUserId,
          action: 'attribute_definition.created',
          objectType: OBJECT_TYPE,
          objectId: row!.id,
          details: { entity: row!.entity, name: row!.name, type: row!.type },
        },
      ]);
      // Values stored before the attribute was defined appear in search once it is.
      if (row!.searchable || row!.filterable) await reindexHolders(tx, row!.entity, row!.name);
      return row!;
    });
  } catch (error) {
    if (!isUniqueViolation(error, 'attribute_definitions_entity_name_key')) throw error;
    const [existing] = await db
      .select()
      .from(attributeDefinitions)
      .where(
        and(
          eq(attributeDefinitions.entity, values.entity),
          eq(attributeDefinitions.name, values.name),
        ),
      );
    if (existing?.status === 'clearing') throw beingCleared(existing);
    throw new DomainError(
      'conflict',
      'ATTRIBUTE_NAME_TAKEN',
      `A ${values.entity} attribute named "${values.name}" is already defined.`,
      { attribute: values.name, ...(existing ? { id: existing.id } : {}) },
    );
  }
}

export async function updateAttributeDefinition(
  db: Database,
  actorUserId: string,
  id: string,
  patch: Partial<DefinitionFields>,
): Promise<AttributeDefinitionRow> {
  return db.transaction(async (tx) => {
    const current = await getAttributeDefinition(tx, id, { lock: true });
    if (current.status === 'clearing') throw beingCleared(current);
    const type = patch.type ?? current.type;
    const options = checkOptions(
      type,
      patch.options !== undefined
        ? patch.options
        : listTypes.includes(type)
          ? current.options
          : null,
    );
    if (type !== current.type) {
      const count = await countAttributeValues(tx, current.entity, current.name);
      if (count > 0) throw hasValues(current, count, 'change type');
    } else if (listTypes.includes(type)) {
      const removed = (current.options ?? []).filter((o) => !(options ?? []).includes(o));
      if (removed.length > 0) {
        // `?|` matches a string value as well as an element of a list.
        const result = await tx.execute<{ count: number }>(sql`
          select count(*)::int as count from ${sql.raw(attributeTables[current.entity])}
          where (custom_attributes -> ${current.name}) ?| ${`{${removed.map((o) => JSON.stringify(o)).join(',')}}`}::text[]`);
        const count = result.rows[0]?.count ?? 0;
        if (count > 0) {
          throw new DomainError(
            'conflict',
            'ATTRIBUTE_OPTION_IN_USE',
            `${count} ${current.entity === 'customer' ? 'customers' : 'companies'} hold an option of "${current.name}" that this change removes; change their values first.`,
            { attribute: current.name, count, options: removed },
          );
        }
      }
    }
    const [row] = await tx
      .update(attributeDefinitions)
      .set({
        ...(patch.label !== undefined ? { label: patch.label } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.searchable !== undefined ? { searchable: patch.searchable } : {}),
        ...(patch.filterable !== undefined ? { filterable: patch.filterable } : {}),
        type,
        options,
        updatedAt: sql`now()`,
      })
      .where(eq(attributeDefinitions.id, id))
      .returning();
    const changed = (
      ['label', 'type', 'options', 'description', 'searchable', 'filterable'] as const
    ).filter((field) => patch[field] !== undefined);
    await audit(tx, [
      {
        actorUserId,
        action: 'attribute_definition.updated',
        objectType: OBJECT_TYPE,
        objectId: id,
        details: { name: current.name, changed },
      },
    ]);
    const shown = (d: { searchable: boolean; filterable: boolean }) => d.searchable || d.filterable;
    if (shown(row!) !== shown(current) || (shown(row!) && type !== current.type))
      await reindexHolders(tx, current.entity, current.name);
    return row!;
  });
}

export type RemoveOutcome = { removed: true } | { removed: false; job: JobRow; created: boolean };

/**
 * Removes a definition. Without values it goes at once; with values it is
 * refused ATTRIBUTE_HAS_VALUES unless `clearValues`, which marks it
 * `clearing` (writes then refuse the attribute, and its name stays taken) and
 * records the job that clears the values. A definition whose clearing job
 * ended without completing (failed, or cancelled from Temporal UI) is
 * cleared again by the same request: the job picks up where the last stopped.
 */
export async function removeAttributeDefinition(
  db: Database,
  actorUserId: string,
  id: string,
  {
    clearValues,
    idempotencyKey,
    workflowIdOf,
  }: {
    clearValues: boolean;
    idempotencyKey?: string | undefined;
    /** The clearing job's workflow ID (workflows/contracts.ts, which operations do not import). */
    workflowIdOf: (jobId: string) => string;
  },
): Promise<RemoveOutcome> {
  return db.transaction(async (tx) => {
    const definition = await getAttributeDefinition(tx, id, { lock: true });
    if (definition.status === 'clearing' && definition.clearJobId) {
      const running = await findJob(tx, definition.clearJobId);
      if (running && !finishedStatuses.includes(running.status)) {
        if (
          idempotencyKey !== undefined &&
          running.idempotencyKey === idempotencyKey &&
          running.startedBy === actorUserId
        )
          return { removed: false, job: running, created: false };
        throw beingCleared(definition);
      }
    }
    const count = await countAttributeValues(tx, definition.entity, definition.name);
    if (count === 0) {
      await tx.delete(attributeDefinitions).where(eq(attributeDefinitions.id, id));
      await audit(tx, [
        {
          actorUserId,
          action: 'attribute_definition.deleted',
          objectType: OBJECT_TYPE,
          objectId: id,
          details: { entity: definition.entity, name: definition.name, cleared: 0 },
        },
      ]);
      return { removed: true };
    }
    if (!clearValues) throw hasValues(definition, count, 'be removed');
    const jobId = randomUUID();
    const { job, created } = await createJob(tx, {
      id: jobId,
      type: 'attribute_clear',
      startedBy: actorUserId,
      params: { entity: definition.entity, definitionId: id, attribute: definition.name },
      workflowId: workflowIdOf(jobId),
      idempotencyKey,
    });
    await tx
      .update(attributeDefinitions)
      .set({ status: 'clearing', clearJobId: job.id, updatedAt: sql`now()` })
      .where(eq(attributeDefinitions.id, id));
    if (!created) return { removed: false, job, created };
    const [counted] = await tx
      .update(jobs)
      .set({ progressTotal: count })
      .where(eq(jobs.id, job.id))
      .returning();
    await audit(tx, [
      {
        actorUserId,
        action: 'attribute_definition.clear_requested',
        objectType: OBJECT_TYPE,
        objectId: id,
        jobId: job.id,
        details: { entity: definition.entity, name: definition.name, count },
      },
    ]);
    return { removed: false, job: counted!, created };
  });
}

// ---------------------------------------------------------------------------
// The clearing job's steps. Each is one transaction guarded by state, so a
// retry after a crash does no harm.

interface ClearParams {
  entity: AttributeEntity;
  definitionId: string;
  attribute: string;
}

async function clearParams(db: Queryable, jobId: string): Promise<ClearParams> {
  const job = await findJob(db, jobId);
  if (!job || job.type !== 'attribute_clear') {
    throw new DomainError(
      'not_found',
      'JOB_NOT_FOUND',
      `No attribute clearing job has the ID ${jobId}.`,
      { jobId },
    );
  }
  return job.params as unknown as ClearParams;
}

/**
 * Marks the job running; its total is the count of values when the removal
 * was asked for (a batch cleared since, by an earlier attempt, is counted done).
 */
export async function startAttributeClearing(
  db: Database,
  jobId: string,
): Promise<{ total: number }> {
  await clearParams(db, jobId);
  await transitionJob(db, jobId, ['pending'], 'running');
  const [job] = await db.select({ total: jobs.progressTotal }).from(jobs).where(eq(jobs.id, jobId));
  return { total: job?.total ?? 0 };
}

export interface ClearBatch {
  cleared: number;
  /** The last row of the batch, where the next starts; null when this pass reached the end. */
  last: string | null;
  /** Rows that still hold a value once a pass ended (a merge moved one behind the cursor). */
  remaining: number;
  done: number;
  outboxUpTo: number;
}

/**
 * Clears the attribute from the next `size` rows after `after` (by ID, the
 * lock order of every multi-row write), in one transaction that also counts
 * them done and queues the customers' search documents. A retry finds the
 * rows it already cleared without the attribute and goes on after them.
 */
export async function clearAttributeBatch(
  db: Database,
  jobId: string,
  after: string | null,
  size: number,
): Promise<ClearBatch> {
  const params = await clearParams(db, jobId);
  const table = sql.raw(attributeTables[params.entity]);
  return db.transaction(async (tx) => {
    const result = await tx.execute<{ id: string }>(sql`
      with batch as (
        select id from ${table}
        where custom_attributes ? ${params.attribute}
          ${after ? sql`and id > ${after}::uuid` : sql``}
        order by id limit ${size}
        for no key update
      )
      update ${table} t set custom_attributes = t.custom_attributes - ${params.attribute}, updated_at = now()
      from batch where t.id = batch.id
      returning t.id`);
    const ids = result.rows.map((row) => row.id).sort();
    if (params.entity === 'customer' && ids.length > 0) {
      await tx.execute(sql`
        insert into search_outbox (entity, entity_id) select 'customer', unnest(${uuidArray(ids)})`);
      await tx.execute(sql`select pg_notify('custodian_search_outbox', '')`);
    }
    const [job] = await tx
      .update(jobs)
      .set({ progressDone: sql`${jobs.progressDone} + ${ids.length}`, updatedAt: sql`now()` })
      .where(eq(jobs.id, jobId))
      .returning({ done: jobs.progressDone });
    const ended = ids.length < size;
    const remaining = ended ? await countAttributeValues(tx, params.entity, params.attribute) : 0;
    return {
      cleared: ids.length,
      last: ended ? null : ids.at(-1)!,
      remaining,
      done: job?.done ?? 0,
      outboxUpTo: await lastOutboxId(tx),
    };
  });
}

/** Removes the cleared definition, freeing its name, and records it in the audit log. */
export async function finishAttributeClearing(db: Database, jobId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const params = await clearParams(tx, jobId);
    const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId));
    const deleted = await tx
      .delete(attributeDefinitions)
      .where(
        and(
          eq(attributeDefinitions.id, params.definitionId),
          eq(attributeDefinitions.status, 'clearing'),
        ),
      )
      .returning({ id: attributeDefinitions.id });
    if (deleted.length === 0) return;
    await audit(tx, [
      {
        actorUserId: job?.startedBy ?? null,
        action: 'attribute_definition.deleted',
        objectType: OBJECT_TYPE,
        objectId: params.definitionId,
        jobId,
        details: { entity: params.entity, name: params.attribute, cleared: job?.progressDone ?? 0 },
      },
    ]);
  });
}
