/**
 * TypeScript data migrations, run in this order after the SQL migrations by
 * db/migrate.ts, each once. Append; never reorder or rename (the name is the
 * record that it ran).
 */
import type { DataMigration } from '../migrate';
import { phonesE164 } from './phones-e164';

export const dataMigrations: readonly DataMigration[] = [phonesE164];
