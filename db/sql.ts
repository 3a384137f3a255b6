import { sql } from 'drizzle-orm';

/**
 * IDs as one `uuid[]` parameter, for `= any(…)`: Drizzle would otherwise bind
 * an array as one parameter per element, and a batch holds thousands.
 */
export const uuidArray = (ids: readonly string[]) => sql`${`{${ids.join(',')}}`}::uuid[]`;
