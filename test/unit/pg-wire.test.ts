/**
 * Contract of the one module that drives node-postgres internals (schemas/pg-wire.ts): any
 * other version of `pg` fails here first, so an upgrade is a deliberate re-verification
 * (this file, then test/integration/pg-scope.test.ts), never a lockfile drift.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { missingWireInternals, PG_WIRE_VERSION } from '../../schemas/pg-wire.ts';

const require = createRequire(import.meta.url);

describe('node-postgres wire contract', () => {
  test('the installed pg is the version pg-wire.ts was verified against', () => {
    const installed = (require('pg/package.json') as { version: string }).version;
    assert.equal(installed, PG_WIRE_VERSION, 'pg changed: re-verify schemas/pg-wire.ts, then move the pin');
  });

  test('package.json pins pg to that exact version (no range)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies['pg'], PG_WIRE_VERSION);
  });

  test('every internal the module overrides or calls is present', () => {
    assert.deepEqual(missingWireInternals(), []);
  });
});
