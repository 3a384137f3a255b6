import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import {
  createSavedSearch,
  deleteSavedSearch,
  getSavedSearch,
  listSavedSearches,
  updateSavedSearch,
  type SavedSearchRow,
} from '../../db/queries/saved-searches';
import {
  indexDefinitions,
  searchIndexNames,
  type FilterDefinition,
  type SearchIndexName,
} from '../../search/indexes';
import { activeAttributeRules } from '../../db/queries/attribute-definitions';
import { ATTRIBUTE_NAME_PATTERN } from '../../domain/attributes';
import type { Database } from '../../db/client';
import {
  filterExpressions,
  runSearch,
  type FilterableAttributes,
  SearchUnavailableError,
  sortExpressions,
  type SearchRequest,
} from '../../search/query';
import { assertPermission, can, currentUser } from '../plugins/auth';
import { readPermission } from '../../lib/permissions';
import { serviceUnavailable } from '../../lib/errors';
import { iso } from '../views';
import {
  IdParams,
  Name,
  NoContent,
  Nullable,
  OneOf,
  problems,
  Timestamp,
  Uuid,
} from '../schemas/common';

const tags = ['search'];

function filterSchema({ kind }: FilterDefinition): TSchema {
  if (kind === 'uuid') return Uuid;
  if (kind === 'klass') return Type.String({ pattern: '^[a-z][a-z0-9_]*$' });
  return OneOf(kind);
}

const paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: 0 })),
};

/** `attr.<name>` query parameters: filters on custom attributes, checked against their definitions. */
const attributeFilterParams = {
  patternProperties: {
    [`^attr\\.${ATTRIBUTE_NAME_PATTERN.slice(1)}`]: Type.String({
      maxLength: 200,
      description:
        'attr.<name>=<op>:<value>: eq (default), ne; for numbers, dates and date-times also gt, gte, lt, lte and between:<from>,<to>.',
    }),
  },
};

/** The customer attributes search may filter on, read per request: definitions change at runtime. */
async function filterableAttributes(db: Database): Promise<FilterableAttributes> {
  return new Map((await activeAttributeRules(db, 'customer')).map((rule) => [rule.name, rule]));
}

function searchQuery(index: SearchIndexName) {
  const { filters, sorts } = indexDefinitions[index];
  return Type.Object(
    {
      q: Type.Optional(Type.String({ maxLength: 500, default: '' })),
      ...Object.fromEntries(
        Object.entries(filters).map(([name, d]) => [name, Type.Optional(filterSchema(d))]),
      ),
      sort: Type.Optional(OneOf(sortValues(sorts))),
      ...paging,
    },
    { additionalProperties: false, ...(index === 'customers' ? attributeFilterParams : {}) },
  );
}

const Hit = Type.Object({ id: Uuid }, { additionalProperties: true });
const Results = Type.Object({
  hits: Type.Array(Hit),
  total: Type.Integer({ description: 'Estimated number of matches.' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const sortValues = (sorts: readonly string[]) => sorts.flatMap((s) => [s, `${s}:asc`, `${s}:desc`]);

/** Every sort any index accepts; the saved search's index narrows it down. */
const SavedSort = OneOf([
  ...new Set(searchIndexNames.flatMap((index) => sortValues(indexDefinitions[index].sorts))),
]);

/**
 * Saved filters as stored: IDs lower-cased like every ID at the edge, so a
 * saved `customer` filter matches the indexed ID whatever case it was sent in.
 */
async function savedFilters(db: Database, index: SearchIndexName, filters: Record<string, string>) {
  filterExpressions(index, filters, await filterableAttributes(db));
  const definitions = indexDefinitions[index].filters;
  return Object.fromEntries(
    Object.entries(filters).map(([name, value]) => [
      name,
      definitions[name]?.kind === 'uuid' ? value.toLowerCase() : value,
    ]),
  );
}

const FiltersBody = Type.Record(Type.String({ maxLength: 80 }), Type.String({ maxLength: 200 }));

const SavedSearch = Type.Object({
  id: Uuid,
  name: Type.String(),
  index: Type.String(),
  q: Type.String(),
  filters: FiltersBody,
  sort: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const savedSearchView = (row: SavedSearchRow) => ({
  id: row.id,
  name: row.name,
  index: row.index,
  q: row.query,
  filters: row.filters as Record<string, string>,
  sort: row.sort,
  createdAt: iso(row.createdAt),
  updatedAt: iso(row.updatedAt),
});

const search: FastifyPluginAsyncTypebox = async (app) => {
  const prefix = app.config.meili.indexPrefix;
  const run = async (index: SearchIndexName, request: SearchRequest) => {
    try {
      return await runSearch(app.meili, prefix, index, request, app.config.phoneDefaultRegion);
    } catch (error) {
      if (error instanceof SearchUnavailableError) throw serviceUnavailable('search', error);
      throw error;
    }
  };

  for (const index of searchIndexNames) {
    app.get(
      `/search/${index}`,
      {
        // Results hold only the entity type the caller may read: one index per route.
        config: { access: can('searches.read', readPermission(index)) },
        schema: {
          tags,
          summary: `Search ${index}`,
          description:
            'Typo-tolerant full-text search. An email or phone number in `q` must match whole; a phone number matches in any spelling of it ("+44 20 7946 0958", "0044 20 7946 0958", or "020 7946 0958" written without a country code in the default region PHONE_DEFAULT_REGION).',
          querystring: searchQuery(index),
          response: { 200: Results, ...problems(403) },
        },
      },
      async (request) => {
        const {
          q = '',
          sort,
          limit = 20,
          offset = 0,
          ...filters
        } = request.query as Record<string, string> & {
          limit?: number;
          offset?: number;
        };
        const attributes = Object.keys(filters).some((name) => name.startsWith('attr.'))
          ? await filterableAttributes(app.db)
          : undefined;
        return run(index, { q, sort, limit, offset, filters, attributes });
      },
    );
  }

  const readSearches = can('searches.read');

  app.post(
    '/saved-searches',
    {
      config: { access: readSearches },
      schema: {
        tags,
        summary: 'Save a search',
        body: Type.Object(
          {
            name: Name(200),
            index: OneOf(searchIndexNames),
            q: Type.Optional(Type.String({ maxLength: 500 })),
            filters: Type.Optional(FiltersBody),
            sort: Type.Optional(SavedSort),
          },
          { additionalProperties: false },
        ),
        response: { 201: SavedSearch, ...problems(403) },
      },
    },
    async (request, reply) => {
      const { name, index, q = '', filters = {}, sort } = request.body;
      assertPermission(currentUser(request), readPermission(index));
      const stored = await savedFilters(app.db, index, filters);
      sortExpressions(index, sort);
      const row = await createSavedSearch(app.db, currentUser(request).id, {
        name,
        index,
        query: q,
        filters: stored,
        sort: sort ?? null,
      });
      return reply.code(201).send(savedSearchView(row));
    },
  );

  app.get(
    '/saved-searches',
    {
      config: { access: readSearches },
      schema: {
        tags,
        summary: 'Your saved searches',
        response: { 200: Type.Object({ items: Type.Array(SavedSearch) }), ...problems(403) },
      },
    },
    async (request) => ({
      items: (await listSavedSearches(app.db, currentUser(request).id)).map(savedSearchView),
    }),
  );

  app.get(
    '/saved-searches/:id',
    {
      config: { access: readSearches },
      schema: {
        tags,
        summary: 'Get a saved search',
        params: IdParams,
        response: { 200: SavedSearch, ...problems(403, 404) },
      },
    },
    async (request) =>
      savedSearchView(await getSavedSearch(app.db, request.params.id, currentUser(request))),
  );

  app.patch(
    '/saved-searches/:id',
    {
      config: { access: readSearches },
      schema: {
        tags,
        summary: 'Change a saved search',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name(200)),
            q: Type.Optional(Type.String({ maxLength: 500 })),
            filters: Type.Optional(FiltersBody),
            sort: Type.Optional(Nullable(SavedSort)),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: SavedSearch, ...problems(403, 404) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const existing = await getSavedSearch(app.db, request.params.id, user);
      const { name, q, filters, sort } = request.body;
      const stored = filters && (await savedFilters(app.db, existing.index, filters));
      if (sort) sortExpressions(existing.index, sort);
      const row = await updateSavedSearch(app.db, existing.id, user, {
        ...(name === undefined ? {} : { name }),
        ...(q === undefined ? {} : { query: q }),
        ...(stored === undefined ? {} : { filters: stored }),
        ...(sort === undefined ? {} : { sort }),
      });
      return savedSearchView(row);
    },
  );

  app.delete(
    '/saved-searches/:id',
    {
      config: { access: readSearches },
      schema: {
        tags,
        summary: 'Delete a saved search',
        params: IdParams,
        response: { 204: NoContent, ...problems(403, 404) },
      },
    },
    async (request, reply) => {
      await deleteSavedSearch(app.db, request.params.id, currentUser(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/saved-searches/:id/results',
    {
      config: { access: readSearches },
      schema: {
        tags,
        summary: 'Run a saved search',
        params: IdParams,
        querystring: Type.Object(paging, { additionalProperties: false }),
        response: { 200: Results, ...problems(403, 404) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const saved = await getSavedSearch(app.db, request.params.id, user);
      assertPermission(user, readPermission(saved.index));
      const { limit = 20, offset = 0 } = request.query;
      return run(saved.index, {
        q: saved.query,
        filters: saved.filters as Record<string, string>,
        attributes: await filterableAttributes(app.db),
        sort: saved.sort ?? undefined,
        limit,
        offset,
      });
    },
  );
};

export default search;
