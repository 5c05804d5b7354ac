import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fromDbError,
  newApiKey,
  opaqueToken,
  roleAtLeast,
  sha256,
  type Role,
} from '../../gateway/identity/mod.ts';
import { VigilError } from '../../schemas/mod.ts';

describe('role order', () => {
  const roles: Role[] = ['viewer', 'operator', 'tenant_admin', 'platform_admin'];
  for (const [i, role] of roles.entries()) {
    for (const [j, min] of roles.entries()) {
      test(`${role} ${i >= j ? 'may' : 'may not'} do what ${min} may`, () => {
        assert.equal(roleAtLeast(role, min), i >= j);
      });
    }
  }
});

describe('database errors become registry errors', () => {
  const cases: [string, { code?: string; constraint?: string }, string, number][] = [
    ['unique slug', { code: '23505', constraint: 'tenants_slug_key' }, 'CONFLICT', 409],
    ['unique, unnamed', { code: '23505' }, 'CONFLICT', 409],
    ['foreign key to an invisible row', { code: '23503' }, 'NOT_FOUND', 404],
    ['row-level security violation', { code: '42501' }, 'NOT_FOUND', 404],
    ['check constraint', { code: '23514' }, 'VALIDATION_FAILED', 400],
    ['bad uuid text', { code: '22P02' }, 'VALIDATION_FAILED', 400],
    ['connection refused', { code: 'ECONNREFUSED' }, 'DEPENDENCY_UNAVAILABLE', 503],
    ['admin shutdown', { code: '57P01' }, 'DEPENDENCY_UNAVAILABLE', 503],
    ['anything else', { code: 'XX000' }, 'INTERNAL', 500],
  ];
  for (const [name, err, code, status] of cases) {
    test(name, () => {
      const e = fromDbError(Object.assign(new Error('db said no'), err));
      assert.deepEqual([e.code, e.status], [code, status]);
    });
  }

  test('a VigilError passes through unchanged', () => {
    const original = new VigilError('FORBIDDEN');
    assert.equal(fromDbError(original), original);
  });

  test('the conflict message names the thing, never the SQL', () => {
    assert.equal(
      fromDbError({ code: '23505', constraint: 'users_email_key' }).message,
      'a user with this email already exists',
    );
  });
});

describe('secrets', () => {
  test('opaque tokens: prefixed, 256 random bits, never repeated', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => opaqueToken('vr')));
    assert.equal(tokens.size, 100);
    for (const t of tokens) assert.match(t, /^vr_[A-Za-z0-9_-]{43}$/);
  });

  test('API keys: vk_<prefix>_<secret>, stored as the SHA-256 of the whole key', () => {
    const k = newApiKey();
    assert.match(k.key, new RegExp(`^vk_${k.prefix}_[A-Za-z0-9_-]{43}$`));
    assert.deepEqual(k.hash, sha256(k.key));
    assert.equal(k.hash.length, 32);
  });
});
