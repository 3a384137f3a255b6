/**
 * The three search indexes: what each document holds, which attributes are
 * searched, filtered and sorted. Postgres is the source of truth; every index
 * here can be rebuilt from it at any time.
 */
import type { Meilisearch, Settings } from 'meilisearch';
import { conversationChannels, conversationStatuses } from '../db/schema';
import { waitForSearchTask } from './client';

export const searchEntities = ['customer', 'conversation', 'kobject'] as const;
export type SearchEntity = (typeof searchEntities)[number];

export const searchIndexNames = ['customers', 'conversations', 'kobjects'] as const;
export type SearchIndexName = (typeof searchIndexNames)[number];

export const indexOfEntity: Record<SearchEntity, SearchIndexName> = {
  customer: 'customers',
  conversation: 'conversations',
  kobject: 'kobjects',
};

/** A filter a search accepts: its query parameter, document attribute and allowed values. */
export interface FilterDefinition {
  attribute: string;
  kind: 'uuid' | 'klass' | readonly string[];
}

interface IndexDefinition {
  settings: Settings;
  filters: Record<string, FilterDefinition>;
  sorts: readonly string[];
}

/**
 * Meilisearch stops paging a search at 1,000 hits by default; a bulk erasure
 * of "every match of a saved search" must see all of them.
 */
const pagination = { maxTotalHits: 1_000_000 };

const customerFilter: FilterDefinition = { attribute: 'customerId', kind: 'uuid' };
const companyFilter: FilterDefinition = { attribute: 'companyId', kind: 'uuid' };

/**
 * The attributes each index searches, in ranking order. Exact matching for an
 * erasure (operations/erasure-selection.ts) reads the same documents' same
 * attributes, so "what a search looks at" has this one home.
 */
export const searchableAttributes = {
  customers: [
    'name',
    'emails',
    'phoneKeys',
    'phones',
    'socialHandles',
    'externalId',
    'companyName',
    'attributeTexts',
  ],
  conversations: ['subject', 'customerName'],
  kobjects: ['title', 'klass', 'customerName'],
} as const satisfies Record<SearchIndexName, readonly string[]>;

export const indexDefinitions: Record<SearchIndexName, IndexDefinition> = {
  customers: {
    settings: {
      searchableAttributes: [...searchableAttributes.customers],
      // `attributes` holds only filterable custom attributes; Meilisearch filters each
      // by its path (`attributes.tier`), so defining or changing one needs no settings
      // change (and its full re-index), only the projection of the customers holding it.
      filterableAttributes: ['companyId', 'attributes'],
      sortableAttributes: ['lastActivityAt', 'createdAt', 'name'],
      pagination,
      // An email, phone or external ID either matches or it does not.
      typoTolerance: { disableOnAttributes: ['emails', 'phoneKeys', 'phones', 'externalId'] },
    },
    filters: { company: companyFilter },
    sorts: ['lastActivityAt', 'createdAt', 'name'],
  },
  conversations: {
    settings: {
      searchableAttributes: [...searchableAttributes.conversations],
      filterableAttributes: ['companyId', 'customerId', 'status', 'channel'],
      sortableAttributes: ['lastActivityAt', 'createdAt'],
      pagination,
    },
    filters: {
      company: companyFilter,
      customer: customerFilter,
      status: { attribute: 'status', kind: conversationStatuses },
      channel: { attribute: 'channel', kind: conversationChannels },
    },
    sorts: ['lastActivityAt', 'createdAt'],
  },
  kobjects: {
    settings: {
      searchableAttributes: [...searchableAttributes.kobjects],
      filterableAttributes: ['companyId', 'customerId', 'klass'],
      sortableAttributes: ['lastActivityAt', 'createdAt'],
      pagination,
    },
    filters: {
      company: companyFilter,
      customer: customerFilter,
      klass: { attribute: 'klass', kind: 'klass' },
    },
    sorts: ['lastActivityAt', 'createdAt'],
  },
};

export const indexUid = (prefix: string, name: SearchIndexName) => `${prefix}${name}`;

/**
 * Creates missing indexes and applies their settings. Idempotent: Meilisearch
 * skips settings that did not change. Runs when the worker starts syncing and
 * again after Meilisearch was unreachable (it may have come back empty).
 */
export async function ensureIndexes(meili: Meilisearch, prefix: string, names = searchIndexNames) {
  for (const name of names) {
    await ensureIndex(meili, indexUid(prefix, name), name);
  }
}

export async function ensureIndex(meili: Meilisearch, uid: string, name: SearchIndexName) {
  const exists = await meili.getRawIndex(uid).then(
    () => true,
    (error: { cause?: { code?: string } }) => {
      if (error.cause?.code === 'index_not_found') return false;
      throw error;
    },
  );
  if (!exists) await waitForSearchTask(meili, meili.createIndex(uid, { primaryKey: 'id' }));
  await waitForSearchTask(meili, meili.index(uid).updateSettings(indexDefinitions[name].settings));
}
