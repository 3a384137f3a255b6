/** `npm run db:migrate`: applies the committed migrations to DATABASE_URL (in production `npm run setup` does, with more). */
import { runMigrations } from '../db/migrate';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required');
  process.exit(1);
}
runMigrations(url, { log: (line) => console.log(line) }).then(
  () => console.log('migrations applied'),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
