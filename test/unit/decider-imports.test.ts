/** The lint rule that keeps deciders pure fires on every kind of I/O import, and only there. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The project's own rule, from the config ESLint runs with (plain JS, so typed here).
const configFile: string = '../../eslint.config.js';
const { deciderImports } = (await import(configFile)) as { deciderImports: Linter.Config };

const linter = new Linter({ configType: 'flat' });
const config = [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, deciderImports];

const flagged = (code: string, filename: string): string[] =>
  linter.verify(code, config, filename).map((m) => m.ruleId ?? m.message);

describe('*.decider.ts imports no I/O module', () => {
  const bad = [
    "import pg from 'pg';",
    "import { connect } from 'nats';",
    "import { connect } from '@nats-io/transport-node';",
    "import Fastify from 'fastify';",
    "import { Redis } from 'ioredis';",
    "import { createClient } from '@clickhouse/client';",
    "import { ServiceBroker } from 'moleculer';",
    "import { readFile } from 'node:fs/promises';",
    "import { createServer } from 'node:net';",
    "import { EquipmentRepo } from './equipment.repo.ts';",
    "import { setTimeout } from 'node:timers/promises';",
    "import pino from 'pino';",
    "import { names } from '../../streams/mod.ts';",
    "import { buildApp } from '../../gateway/mod.ts';",
  ];
  for (const code of bad) {
    test(`refused: ${code}`, () => {
      assert.deepEqual(flagged(code, 'actors/toy/toy.decider.ts'), ['no-restricted-imports']);
    });
  }

  test('pure imports pass', () => {
    assert.deepEqual(
      flagged(
        "import { Type } from '@sinclair/typebox';\nimport type { Reading } from '../../schemas/mod.ts';",
        'actors/toy/toy.decider.ts',
      ),
      [],
    );
  });

  test('a service may do I/O', () => {
    assert.deepEqual(flagged("import pg from 'pg';", 'actors/toy/toy.service.ts'), []);
  });
});
