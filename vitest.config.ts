import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts real PostgreSQL, Temporal, Meilisearch and MailDev once per run.
    globalSetup: ['test/global-setup.ts'],
    // Temporal workers use native threads; forks isolate them best.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
