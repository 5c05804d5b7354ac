// Type-aware lint: floating promises are the bug class that loses messages in a stream processor.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Deciders are pure: no I/O module may be imported by a `*.decider.ts` file (the services
 * around them own I/O), so the same code runs live, on replay and in backtests. One block: a
 * second `no-restricted-imports` for the same files would replace this one, not add to it.
 * test/unit/decider-imports.test.ts proves the rule fires.
 */
export const deciderImports = {
  files: ['**/*.decider.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [
          'nats',
          'pg',
          'fastify',
          'ioredis',
          'moleculer',
          '@clickhouse/client',
          'node:fs',
          'node:fs/promises',
          'node:net',
          'node:http',
          'node:https',
          'node:child_process',
          'node:dgram',
          'node:worker_threads',
          'fs',
          'net',
          'http',
          'https',
          'child_process',
        ].map((name) => ({ name, message: 'deciders are pure: I/O belongs to the service around them' })),
        patterns: [
          {
            group: ['@nats-io/*', '@fastify/*', 'pg-*', '**/*.service.ts', '**/*.repo.ts', '**/*.routes.ts'],
            message: 'deciders are pure: I/O belongs to the service around them',
          },
          {
            regex: '^(node:)?(http2|dns|tls|timers|timers/promises)$|^(undici|pino)$',
            message: 'deciders are pure: I/O (and the clock) belongs to the service around them',
          },
          {
            // The folders that do I/O: a decider reaches them only through the service.
            regex: '(^|/)(streams|gateway)/',
            message: 'deciders are pure: I/O belongs to the service around them',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.vigil/**', 'dist/**', 'gateway/public/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's registration functions return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // `import { type A }` still loads its module at run time (verbatimModuleSyntax): in a
    // decider that would load what the types come from (schemas/mod.ts loads pg and Ajv).
    files: ['**/*.decider.ts'],
    rules: { '@typescript-eslint/no-import-type-side-effects': 'error' },
  },
  {
    files: ['test/**', 'bench/**', 'ops/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  deciderImports,
);
