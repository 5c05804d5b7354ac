import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { AccessTokens, KeyRing, generateKey } from '../../gateway/identity/mod.ts';
import { VigilError } from '../../schemas/mod.ts';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vigil-keys-'));
  dirs.push(d);
  return join(d, 'keys');
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const SETTINGS = { issuer: 'vigil', audience: 'vigil-api', accessTtlS: 900 };
const SUBJECT = {
  userId: '0b6c1a4e-6f0d-4a53-9a43-59f0c1e2f7aa',
  tenantId: '5d1e1c55-2a8a-4c42-8d0e-2f5d9a3b7c11',
  role: 'operator' as const,
  siteIds: ['9f1d2c3b-4a5e-4f60-8a7b-6c5d4e3f2a10'],
  familyId: null,
};

describe('JWT key ring', () => {
  test('the first start creates one private key file (0600) in a private directory (0700)', async () => {
    const dir = await freshDir();
    const ring = await KeyRing.open(dir, log);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.key.json'));
    assert.deepEqual(files, [`${ring.signingKey.kid}.key.json`]);
    assert.equal((await stat(join(dir, files[0]!))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  test('processes starting together on an empty directory agree on one key', async () => {
    const dir = await freshDir();
    const rings = await Promise.all(Array.from({ length: 6 }, () => KeyRing.open(dir, log)));
    assert.equal(new Set(rings.map((r) => r.signingKey.kid)).size, 1);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.key.json')).length, 1);
  });

  test('rotation: the newest key signs, older tokens still verify, another node learns the new kid', async () => {
    const dir = await freshDir();
    const before = await KeyRing.open(dir, log, { reloadEveryMs: 0 });
    const oldToken = await new AccessTokens(before, SETTINGS).issue(SUBJECT);
    const kid = await generateKey(dir);
    const after = await KeyRing.open(dir, log);
    assert.equal(after.signingKey.kid, kid);
    const newToken = await new AccessTokens(after, SETTINGS).issue(SUBJECT);
    assert.equal((await new AccessTokens(after, SETTINGS).verify(oldToken.token)).sub, SUBJECT.userId);
    // `before` has never seen the new key: it re-reads the directory on the unknown kid.
    const claims = await new AccessTokens(before, SETTINGS).verify(newToken.token);
    assert.deepEqual(
      [claims.tid, claims.role, claims.sites],
      [SUBJECT.tenantId, 'operator', SUBJECT.siteIds],
    );
  });

  test('a removed key no longer verifies its tokens', async () => {
    const dir = await freshDir();
    const first = await KeyRing.open(dir, log);
    const token = await new AccessTokens(first, SETTINGS).issue(SUBJECT);
    await generateKey(dir);
    await unlink(join(dir, `${first.signingKey.kid}.key.json`));
    const ring = await KeyRing.open(dir, log);
    await assert.rejects(
      new AccessTokens(ring, SETTINGS).verify(token.token),
      (e: unknown) => e instanceof VigilError && e.code === 'INVALID_TOKEN',
    );
  });

  test('a token of another issuer or audience, or expired, is INVALID_TOKEN', async () => {
    const ring = await KeyRing.open(await freshDir(), log);
    const ok = new AccessTokens(ring, SETTINGS);
    for (const [name, tokens, now] of [
      ['issuer', new AccessTokens(ring, { ...SETTINGS, issuer: 'other' }), Date.now()],
      ['audience', new AccessTokens(ring, { ...SETTINGS, audience: 'other' }), Date.now()],
      ['expired', ok, Date.now() - 901_000 - 10_000],
    ] as const) {
      const t = await tokens.issue(SUBJECT, now);
      await assert.rejects(
        ok.verify(t.token),
        (e: unknown) => e instanceof VigilError && e.code === 'INVALID_TOKEN',
        name,
      );
    }
  });
});
