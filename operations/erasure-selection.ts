/**
 * What a saved search selects for erasure: every object that matches it
 * exactly (domain/exact-match.ts), read from Postgres. The index serves
 * people looking for someone, typo-tolerant and prefix-matching; an erasure
 * must neither take a near match nor miss an object the index has not
 * caught up with, so it asks the rows themselves.
 */
import type { Database } from '../db/client';
import type { SavedSearchRow } from '../db/queries/saved-searches';
import {
  isEmptyQuery,
  matchesFilters,
  matchesQuery,
  parseExactQuery,
  type ExactFilter,
} from '../domain/exact-match';
import type { PhoneRegion } from '../domain/phones';
import { DomainError } from '../lib/errors';
import { loadDocumentPage, type SearchDocument } from '../search/documents';
import {
  indexDefinitions,
  searchableAttributes,
  searchEntities,
  indexOfEntity,
  type SearchIndexName,
} from '../search/indexes';
import { ATTRIBUTE_FILTER_PREFIX, filterExpressions, phoneQueryDigits } from '../search/query';

/** Rows read per statement: large enough to keep round trips few, small enough to keep memory flat. */
const PAGE_SIZE = 5_000;

export type SelectionSearch = Pick<SavedSearchRow, 'index' | 'query' | 'filters'>;

const entityOfIndex = Object.fromEntries(
  searchEntities.map((entity) => [indexOfEntity[entity], entity]),
) as Record<SearchIndexName, (typeof searchEntities)[number]>;

/** The saved filters as attribute/value pairs; unknown filters and values are refused as the search refuses them. */
function exactFilters(index: SearchIndexName, filters: SelectionSearch['filters']): ExactFilter[] {
  const single = Object.fromEntries(
    Object.entries(filters).map(([name, value]) => [name, Array.isArray(value) ? '' : value]),
  );
  const byAttribute = Object.keys(single).find((name) => name.startsWith(ATTRIBUTE_FILTER_PREFIX));
  if (byAttribute) {
    // Exact matching reads Postgres rows, not the index: attribute comparisons are not built for it yet.
    throw new DomainError(
      'unprocessable',
      'ATTRIBUTE_FILTER_NOT_EXACT',
      `A bulk erasure cannot select by the attribute filter "${byAttribute}" yet; select by query, company, or explicit IDs.`,
      { filter: byAttribute },
    );
  }
  filterExpressions(index, single);
  const definitions = indexDefinitions[index].filters;
  return Object.entries(single).map(([name, value]) => ({
    attribute: definitions[name]!.attribute,
    value,
  }));
}

/** A document's searchable texts: each value of each searchable attribute on its own. */
function searchableTexts(index: SearchIndexName, document: SearchDocument): string[] {
  const values = document as unknown as Record<string, unknown>;
  return searchableAttributes[index].flatMap((attribute) => {
    const value = values[attribute];
    const texts = Array.isArray(value) ? value : [value];
    return texts.filter((text): text is string => typeof text === 'string');
  });
}

/**
 * The IDs of every object the saved search matches exactly, in ID order, read
 * in pages from one snapshot of the database. Filters narrow the rows in SQL;
 * the query is matched here, on the texts the search index is built from.
 * A search without query terms selects by its filters; one with neither
 * would select everything and is refused with SELECTION_TOO_BROAD.
 */
export async function selectExactMatches(
  db: Database,
  saved: SelectionSearch,
  {
    phoneRegion,
    pageSize = PAGE_SIZE,
    onPage,
  }: { phoneRegion: PhoneRegion; pageSize?: number; onPage?: () => void },
): Promise<string[]> {
  const filters = exactFilters(saved.index, saved.filters);
  const query = parseExactQuery(saved.query, phoneQueryDigits(saved.query, phoneRegion));
  if (isEmptyQuery(query) && filters.length === 0) {
    throw new DomainError(
      'unprocessable',
      'SELECTION_TOO_BROAD',
      'The saved search has neither words to match nor filters, so it would select everything; give it a query or a filter.',
    );
  }
  const equal = Object.fromEntries(filters.map((f) => [f.attribute, f.value]));
  const entity = entityOfIndex[saved.index];
  return db.transaction(
    async (tx) => {
      const ids: string[] = [];
      for (let after: string | null = null; ;) {
        const page = await loadDocumentPage(tx, entity, after, pageSize, equal);
        for (const document of page) {
          if (
            matchesFilters(filters, document as unknown as Record<string, unknown>) &&
            matchesQuery(query, searchableTexts(saved.index, document))
          )
            ids.push(document.id);
        }
        onPage?.();
        if (page.length < pageSize) return ids;
        after = page.at(-1)!.id;
      }
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
