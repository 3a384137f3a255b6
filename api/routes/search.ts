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
import {
  filterExpressions,
  runSearch,
  SearchUnavailableError,
  sortExpressions,
  type SearchRequest,
} from '../../search/query';
import { currentUser, requirePermission } from '../plugins/auth';
import { DomainError } from '../../lib/errors';
import { IdParams, NoContent, Nullable, OneOf, problems, Timestamp, Uuid } from '../schemas/common';

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

function searchQuery(index: SearchIndexName) {
  const { filters, sorts } = indexDefinitions[index];
  return Type.Object(
    {
      q: Type.Optional(Type.String({ maxLength: 500, default: '' })),
      ...Object.fromEntries(
        Object.entries(filters).map(([name, d]) => [name, Type.Optional(filterSchema(d))]),
      ),
      sort: Type.Optional(OneOf(sorts.flatMap((s) => [s, `${s}:asc`, `${s}:desc`]))),
      ...paging,
    },
    { additionalProperties: false },
  );
}

const Hit = Type.Object({ id: Uuid }, { additionalProperties: true });
const Results = Type.Object({
  hits: Type.Array(Hit),
  total: Type.Integer({ description: 'Estimated number of matches.' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const FiltersBody = Type.Record(Type.String({ maxLength: 50 }), Type.String({ maxLength: 200 }));

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
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

const search: FastifyPluginAsyncTypebox = async (app) => {
  const prefix = app.config.meili.indexPrefix;
  const run = async (index: SearchIndexName, request: SearchRequest) => {
    try {
      return await runSearch(app.meili, prefix, index, request);
    } catch (error) {
      if (error instanceof SearchUnavailableError)
        throw new DomainError(
          'unavailable',
          'SEARCH_UNAVAILABLE',
          error.message,
          {},
          {
            headers: { 'retry-after': '5' },
          },
        );
      throw error;
    }
  };

  for (const index of searchIndexNames) {
    app.get(
      `/search/${index}`,
      {
        preHandler: requirePermission('searches.read'),
        schema: {
          tags,
          summary: `Search ${index}`,
          description:
            'Typo-tolerant full-text search. An email or phone number in `q` must match whole; phone numbers match whatever their punctuation.',
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
        return run(index, { q, sort, limit, offset, filters });
      },
    );
  }

  const readSearches = requirePermission('searches.read');

  app.post(
    '/saved-searches',
    {
      preHandler: readSearches,
      schema: {
        tags,
        summary: 'Save a search',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            index: OneOf(searchIndexNames),
            q: Type.Optional(Type.String({ maxLength: 500 })),
            filters: Type.Optional(FiltersBody),
            sort: Type.Optional(Type.String({ maxLength: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: SavedSearch, ...problems(403) },
      },
    },
    async (request, reply) => {
      const { name, index, q = '', filters = {}, sort } = request.body;
      filterExpressions(index, filters);
      sortExpressions(index, sort);
      const row = await createSavedSearch(app.db, currentUser(request).id, {
        name,
        index,
        query: q,
        filters,
        sort: sort ?? null,
      });
      return reply.code(201).send(savedSearchView(row));
    },
  );

  app.get(
    '/saved-searches',
    {
      preHandler: readSearches,
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
      preHandler: readSearches,
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
      preHandler: readSearches,
      schema: {
        tags,
        summary: 'Change a saved search',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            q: Type.Optional(Type.String({ maxLength: 500 })),
            filters: Type.Optional(FiltersBody),
            sort: Type.Optional(Nullable(Type.String({ maxLength: 50 }))),
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
      if (filters) filterExpressions(existing.index, filters);
      if (sort) sortExpressions(existing.index, sort);
      const row = await updateSavedSearch(app.db, existing.id, user, {
        ...(name === undefined ? {} : { name }),
        ...(q === undefined ? {} : { query: q }),
        ...(filters === undefined ? {} : { filters }),
        ...(sort === undefined ? {} : { sort }),
      });
      return savedSearchView(row);
    },
  );

  app.delete(
    '/saved-searches/:id',
    {
      preHandler: readSearches,
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
      preHandler: readSearches,
      schema: {
        tags,
        summary: 'Run a saved search',
        params: IdParams,
        querystring: Type.Object(paging, { additionalProperties: false }),
        response: { 200: Results, ...problems(403, 404) },
      },
    },
    async (request) => {
      const saved = await getSavedSearch(app.db, request.params.id, currentUser(request));
      const { limit = 20, offset = 0 } = request.query;
      return run(saved.index, {
        q: saved.query,
        filters: saved.filters as Record<string, string>,
        sort: saved.sort ?? undefined,
        limit,
        offset,
      });
    },
  );
};

export default search;
