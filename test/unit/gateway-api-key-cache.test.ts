import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiKeyCache, type DeviceIdentity } from '../../gateway/api-key.cache.ts';
import { sha256 } from '../../gateway/identity/mod.ts';

const KEY = 'vk_abcd_0123456789abcdef0123456789abcdef';
const DEVICE: DeviceIdentity = { tenantId: 't', equipmentId: 'e', siteId: 's' };

function harness(known: Record<string, DeviceIdentity> = { [sha256(KEY).toString('hex')]: DEVICE }) {
  const clock = { now: 1_000_000 };
  const calls: string[] = [];
  let fail = false;
  const cache = new ApiKeyCache(
    async (hash) => {
      calls.push(hash.toString('hex'));
      if (fail) throw new Error('db down');
      return known[hash.toString('hex')] ?? null;
    },
    { ttlMs: 30_000, negativeTtlMs: 5_000, maxEntries: 3, now: () => clock.now },
  );
  return { cache, clock, calls, setFail: (v: boolean) => (fail = v) };
}

describe('ApiKeyCache', () => {
  test('a known key is looked up once within the TTL, again after it', async () => {
    const h = harness();
    assert.deepEqual(await h.cache.resolve(KEY), DEVICE);
    h.clock.now += 29_000;
    assert.deepEqual(await h.cache.resolve(KEY), DEVICE);
    assert.equal(h.calls.length, 1);
    h.clock.now += 2_000;
    await h.cache.resolve(KEY);
    assert.equal(h.calls.length, 2);
  });

  test('an unknown key is remembered for the negative TTL', async () => {
    const h = harness();
    const wrong = 'vk_zzzz_ffffffffffffffffffffffffffffffff';
    assert.equal(await h.cache.resolve(wrong), null);
    h.clock.now += 4_000;
    assert.equal(await h.cache.resolve(wrong), null);
    assert.equal(h.calls.length, 1);
    h.clock.now += 2_000;
    assert.equal(await h.cache.resolve(wrong), null);
    assert.equal(h.calls.length, 2);
  });

  test('concurrent requests with one key share one lookup', async () => {
    const h = harness();
    const all = await Promise.all([h.cache.resolve(KEY), h.cache.resolve(KEY), h.cache.resolve(KEY)]);
    assert.deepEqual(all, [DEVICE, DEVICE, DEVICE]);
    assert.equal(h.calls.length, 1);
  });

  test('a failed lookup is not cached', async () => {
    const h = harness();
    h.setFail(true);
    await assert.rejects(h.cache.resolve(KEY), /db down/);
    h.setFail(false);
    assert.deepEqual(await h.cache.resolve(KEY), DEVICE);
    assert.equal(h.calls.length, 2);
  });

  test('missing, short and huge keys are refused without a lookup', async () => {
    const h = harness();
    for (const k of [undefined, '', 'short', 'x'.repeat(1000)]) assert.equal(await h.cache.resolve(k), null);
    assert.equal(h.calls.length, 0);
    assert.equal(h.cache.size, 0);
  });

  test('the cache never holds more than maxEntries', async () => {
    const h = harness();
    for (let i = 0; i < 10; i++) await h.cache.resolve(`vk_test_${String(i).padStart(32, '0')}`);
    assert.equal(h.cache.size, 3);
  });

  test('the TTL cannot be configured above 30 s', async () => {
    const clock = { now: 0 };
    let calls = 0;
    const cache = new ApiKeyCache(
      async () => {
        calls++;
        return DEVICE;
      },
      { ttlMs: 3_600_000, now: () => clock.now },
    );
    await cache.resolve(KEY);
    clock.now += 31_000;
    await cache.resolve(KEY);
    assert.equal(calls, 2);
  });

  test("evicting a unit forgets its keys at once and keeps other units' and unknown keys", async () => {
    const other = 'vk_efgh_fedcba9876543210fedcba9876543210';
    const unknown = 'vk_zzzz_ffffffffffffffffffffffffffffffff';
    const OTHER: DeviceIdentity = { tenantId: 't', equipmentId: 'e2', siteId: 's' };
    const h = harness({
      [sha256(KEY).toString('hex')]: DEVICE,
      [sha256(other).toString('hex')]: OTHER,
    });
    for (const k of [KEY, other, unknown]) await h.cache.resolve(k);
    assert.equal(h.calls.length, 3);
    assert.equal(h.cache.evictEquipment('e'), 1);
    for (const k of [KEY, other, unknown]) await h.cache.resolve(k);
    // Only the evicted key was looked up again: a revocation bites on the next request.
    assert.equal(h.calls.length, 4);
    assert.equal(h.calls[3], sha256(KEY).toString('hex'));
  });

  test('evicting also drops lookups still running (they may predate the change)', async () => {
    let finish!: (d: DeviceIdentity | null) => void;
    let calls = 0;
    const cache = new ApiKeyCache(
      () => {
        calls++;
        return new Promise<DeviceIdentity | null>((resolve) => (finish = resolve));
      },
      { now: () => 0 },
    );
    const pending = cache.resolve(KEY);
    assert.equal(cache.evictEquipment('anything'), 1);
    finish(DEVICE);
    assert.deepEqual(await pending, DEVICE);
    const again = cache.resolve(KEY);
    finish(null);
    assert.equal(await again, null);
    assert.equal(calls, 2);
  });

  test("evicting a tenant forgets every key of the tenant's units", async () => {
    const h = harness();
    await h.cache.resolve(KEY);
    assert.equal(h.cache.evictTenant('someone else'), 0);
    assert.equal(h.cache.evictTenant('t'), 1);
    assert.equal(h.cache.size, 0);
  });
});
