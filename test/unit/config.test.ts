import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roleUrl } from '../../schemas/config.ts';
import { loadConfig, VigilError } from '../../schemas/mod.ts';

test('defaults make the embedded stack work with an empty environment', () => {
  const c = loadConfig({});
  assert.equal(c.NATS_URL, 'nats://127.0.0.1:14222');
  assert.equal(c.DATABASE_URL, 'postgres://postgres@127.0.0.1:15432/vigil');
  assert.equal(c.PORT, 8088);
  assert.equal(c.VIGIL_PARTITIONS, 8);
  assert.equal(c.VIGIL_ALLOW_SIGNUP, false);
});

test('environment values are converted and validated', () => {
  const c = loadConfig({ PORT: '9000', VIGIL_ALLOW_SIGNUP: 'true', VIGIL_NS: 'ab12' });
  assert.equal(c.PORT, 9000);
  assert.equal(c.VIGIL_ALLOW_SIGNUP, true);
  assert.equal(c.VIGIL_NS, 'ab12');
  for (const env of [{ PORT: 'eighty' }, { PORT: '70000' }, { VIGIL_NS: 'Bad.NS' }, { LOG_LEVEL: 'loud' }]) {
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => e instanceof VigilError && e.code === 'VALIDATION_FAILED',
    );
  }
});

test('roleUrl swaps credentials and keeps host and database', () => {
  assert.equal(
    roleUrl('postgres://postgres@db.example:5432/vigil', 'vigil_app', 'p@ss'),
    'postgres://vigil_app:p%40ss@db.example:5432/vigil',
  );
});
