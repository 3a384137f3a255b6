import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'dist/', 'db/migrations/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Fastify plugins and hooks are async by contract even when they await nothing.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Workflow code is replayed deterministically inside Temporal's sandbox:
    // no Node built-ins, no I/O libraries, and activities only as types.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not use Node built-ins.' },
            {
              regex: '^(fs|path|os|crypto|child_process|net|http|https|timers|process)$',
              message: 'Workflows must not use Node built-ins.',
            },
            {
              regex:
                '^(pg|drizzle-orm.*|meilisearch|nodemailer|fastify.*|@temporalio/(client|worker|activity))$',
              message: 'Workflows only orchestrate; side effects belong to activities.',
            },
            {
              group: ['../activities', '../activities/*', '../db', '../db/*', '../api/*'],
              allowTypeImports: true,
              message: 'Import activities with `import type` only.',
            },
          ],
        },
      ],
    },
  },
  // Dependencies point one way: domain ← db ← operations ← activities and api.
  ...[
    ['domain/**/*.ts', ['db', 'search', 'operations', 'activities', 'api', 'workflows', 'stack']],
    ['db/**/*.ts', ['search', 'operations', 'activities', 'api', 'workflows', 'stack']],
    ['operations/**/*.ts', ['activities', 'api', 'workflows', 'stack']],
    ['lib/**/*.ts', ['db', 'search', 'operations', 'activities', 'api', 'stack']],
  ].map(([files, banned]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: banned.map((folder) => ({
            regex: `^(\\.\\./)+${folder}(/|$)`,
            message: `${files.split('/')[0]}/ must not depend on ${folder}/ (see docs/architecture.md, Layers).`,
          })),
        },
      ],
    },
  })),
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
