// Type-aware lint: floating promises are the bug class that loses messages in a stream processor.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // Deciders are pure: no I/O, so the same code runs live, on replay and in backtests.
    files: ['**/*.decider.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|child_process|worker_threads|dns|tls|timers|timers/promises)$',
              message: 'deciders are pure: no I/O',
            },
            {
              regex: '^(@nats-io/|pg$|pg-|@clickhouse/|ioredis$|fastify|moleculer$|undici$|pino$)',
              message: 'deciders are pure: no I/O',
            },
            {
              regex: '(^|/)(streams|gateway)/',
              message: 'deciders are pure: no I/O',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**', 'ops/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
