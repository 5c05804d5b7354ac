/**
 * Access tokens that must be refused, refresh-token rotation with reuse detection, logout,
 * and single-use, expiring invites — against the real app, PostgreSQL and Redis.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { KeyRing, keysDir, sha256 } from '../../gateway/identity/mod.ts';
import type { SessionResponse } from '../../schemas/mod.ts';
import { PASSWORD, apiFixture, type ApiFixture, type World } from '../helpers/app.ts';

let fx: ApiFixture;
let W: World;
let ring: KeyRing;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: fx.config.JWT_ISSUER,
    aud: fx.config.JWT_AUDIENCE,
    sub: W.admin.id,
    tid: W.tenantId,
    role: 'tenant_admin',
    sites: null,
    fam: null,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    ims: Date.now(),
    ...overrides,
  };
}

/** Sign with the server's real key, so only the deliberate defect differs from a valid token. */
async function signed(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, key } = ring.signingKey;
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt', ...header }).sign(key);
}

async function me(token: string): Promise<{ status: number; code: string | undefined }> {
  const res = await fx.call(token, 'GET', '/v1/auth/me');
  return { status: res.statusCode, code: res.json<{ error?: { code: string } }>().error?.code };
}

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  ring = await KeyRing.open(keysDir(fx.config), fx.deps.log);
});

after(async () => {
  await fx?.close();
});

describe('access tokens the API must refuse', () => {
  test('a correctly signed token is accepted (the control for every case below)', async () => {
    assert.deepEqual(await me(await signed(claims())), { status: 200, code: undefined });
  });

  const cases: { name: string; token: () => Promise<string> }[] = [
    {
      name: 'alg none',
      token: async () => `${b64({ alg: 'none', typ: 'at+jwt', kid: ring.signingKey.kid })}.${b64(claims())}.`,
    },
    {
      name: 'HS256 signed with the public key (JWK)',
      token: async () => {
        const { kid } = ring.signingKey;
        const head = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(claims())}`;
        const pub = await exportJWK(await publicKeyOf());
        return `${head}.${createHmac('sha256', JSON.stringify(pub)).update(head).digest('base64url')}`;
      },
    },
    {
      name: 'HS256 signed with the public key (PEM)',
      token: async () => {
        const { kid } = ring.signingKey;
        const head = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(claims())}`;
        const pem = await exportSPKI(await publicKeyOf());
        return `${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
      },
    },
    {
      name: 'unknown kid',
      token: async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'EdDSA', kid: 'no-such-key', typ: 'at+jwt' })
          .sign(privateKey);
      },
    },
    {
      name: "another key under the server's kid",
      token: async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'EdDSA', kid: ring.signingKey.kid, typ: 'at+jwt' })
          .sign(privateKey);
      },
    },
    { name: 'no kid', token: () => signed(claims(), { kid: undefined }) },
    {
      name: 'expired',
      token: async () => {
        const past = Math.floor(Date.now() / 1000) - 3600;
        return signed(claims({ iat: past - 900, exp: past }));
      },
    },
    {
      name: 'tampered payload (role raised, signature kept)',
      token: async () => {
        const session = await fx.login(W.viewer.email);
        const [h, , s] = session.accessToken.split('.');
        return `${h}.${b64(claims({ sub: W.viewer.id, role: 'tenant_admin' }))}.${s}`;
      },
    },
    {
      name: 'tampered payload (tenant changed, signature kept)',
      token: async () => {
        const [h, p, s] = W.admin.token.split('.');
        const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
        return `${h}.${b64({ ...payload, tid: randomUUID() })}.${s}`;
      },
    },
    { name: 'wrong issuer', token: () => signed(claims({ iss: 'someone-else' })) },
    { name: 'wrong audience', token: () => signed(claims({ aud: 'another-api' })) },
    { name: 'wrong type (a plain JWT, not an access token)', token: () => signed(claims(), { typ: 'JWT' }) },
    { name: 'role that does not exist', token: () => signed(claims({ role: 'root' })) },
    { name: 'garbage', token: async () => 'not.a.token' },
  ];
  for (const c of cases) {
    test(`${c.name}: 401`, async () => {
      const res = await me(await c.token());
      assert.equal(res.status, 401);
      assert.equal(res.code, 'INVALID_TOKEN');
    });
  }

  test('no token: 401 UNAUTHENTICATED; another scheme: 401 INVALID_TOKEN', async () => {
    const none = await fx.call(null, 'GET', '/v1/auth/me');
    assert.equal(none.statusCode, 401);
    assert.equal(none.json<{ error: { code: string } }>().error.code, 'UNAUTHENTICATED');
    const basic = await fx.call(null, 'GET', '/v1/auth/me', undefined, {
      authorization: 'Basic dXNlcjpwYXNz',
    });
    assert.equal(basic.statusCode, 401);
    assert.equal(basic.json<{ error: { code: string } }>().error.code, 'INVALID_TOKEN');
  });
});

/** The public half of the signing key, as an attacker could obtain it. */
async function publicKeyOf(): Promise<CryptoKey> {
  const stored = JSON.parse(
    await readFile(join(keysDir(fx.config), `${ring.signingKey.kid}.key.json`), 'utf8'),
  ) as { jwk: Record<string, unknown> };
  const { d: _secret, ...pub } = stored.jwk;
  return (await importJWK(pub, 'EdDSA')) as CryptoKey;
}

describe('refresh tokens', () => {
  async function refresh(token: string) {
    return fx.call(null, 'POST', '/v1/auth/refresh', { refreshToken: token });
  }

  test('each refresh rotates the token; a spent token revokes the whole family', async () => {
    const s1 = await fx.login(W.operator.email);
    const r1 = await refresh(s1.refreshToken);
    assert.equal(r1.statusCode, 200);
    const s2 = r1.json<SessionResponse>();
    assert.notEqual(s2.refreshToken, s1.refreshToken);
    assert.equal((await me(s2.accessToken)).status, 200);

    // The old token again: someone holds a copy. Everything of the family dies.
    const reused = await refresh(s1.refreshToken);
    assert.equal(reused.statusCode, 401);
    assert.equal(reused.json<{ error: { code: string } }>().error.code, 'INVALID_TOKEN');
    assert.equal(
      (await refresh(s2.refreshToken)).statusCode,
      401,
      'the newest token of the family is revoked too',
    );
    assert.equal((await me(s2.accessToken)).status, 401, 'access tokens of the family are revoked');
    assert.equal((await me(s1.accessToken)).status, 401);

    const { rows } = await fx.admin.query<{ total: number; revoked: number }>(
      `SELECT count(*)::int AS total, count(revoked_at)::int AS revoked FROM refresh_tokens
       WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)`,
      [sha256(s1.refreshToken)],
    );
    assert.deepEqual(rows[0], { total: 2, revoked: 2 });
    const audit = await fx.admin.query(
      `SELECT 1 FROM audit_log WHERE tenant_id = $1 AND action = 'auth.refresh_reuse' AND target_id = $2`,
      [W.tenantId, W.operator.id],
    );
    assert.equal(audit.rowCount, 1);

    // Other sessions of the same user are separate families and live on.
    const other = await fx.login(W.operator.email);
    assert.equal((await refresh(other.refreshToken)).statusCode, 200);
  });

  test('refresh tokens are stored only as hashes', async () => {
    const s = await fx.login(W.viewer.email);
    const { rows } = await fx.admin.query<{ row: string }>(
      'SELECT to_jsonb(r)::text AS row FROM refresh_tokens r WHERE token_hash = $1',
      [sha256(s.refreshToken)],
    );
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]!.row.includes(s.refreshToken.slice(3)));
  });

  test('an unknown or expired refresh token is refused', async () => {
    assert.equal((await refresh('vr_' + 'A'.repeat(43))).statusCode, 401);
    const s = await fx.login(W.viewer.email);
    await fx.admin.query(
      "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
      [sha256(s.refreshToken)],
    );
    assert.equal((await refresh(s.refreshToken)).statusCode, 401);
  });

  test('logout ends the access token and the session', async () => {
    const s = await fx.login(W.viewer.email);
    const out = await fx.call(s.accessToken, 'POST', '/v1/auth/logout');
    assert.equal(out.statusCode, 204);
    assert.equal((await me(s.accessToken)).status, 401);
    assert.equal((await refresh(s.refreshToken)).statusCode, 401);
  });

  test("a disabled user's tokens stop working at once", async () => {
    const s = await fx.login(W.siteViewer.email);
    const off = await fx.call(W.admin.token, 'PATCH', `/v1/users/${W.siteViewer.id}`, { disabled: true });
    assert.equal(off.statusCode, 200);
    assert.equal((await me(s.accessToken)).status, 401);
    assert.equal((await refresh(s.refreshToken)).statusCode, 401);
    const login = await fx.call(null, 'POST', '/v1/auth/login', {
      email: W.siteViewer.email,
      password: PASSWORD,
    });
    assert.equal(login.statusCode, 401);
    assert.equal(
      (await fx.call(W.admin.token, 'PATCH', `/v1/users/${W.siteViewer.id}`, { disabled: false })).statusCode,
      200,
    );
    assert.equal(
      (await fx.call(null, 'POST', '/v1/auth/login', { email: W.siteViewer.email, password: PASSWORD }))
        .statusCode,
      200,
    );
  });

  test('a role change voids tokens issued before it; a refresh picks up the new role', async () => {
    const s = await fx.login(W.operator.email);
    const demote = await fx.call(W.admin.token, 'PATCH', `/v1/users/${W.operator.id}`, { role: 'viewer' });
    assert.equal(demote.statusCode, 200);
    assert.equal((await me(s.accessToken)).status, 401);
    const next = (await refresh(s.refreshToken)).json<SessionResponse>();
    assert.equal(next.user.role, 'viewer');
    const write = await fx.call(next.accessToken, 'POST', '/v1/maintenance', {
      equipmentId: W.equipment[0],
      kind: 'cleaning',
      performedAt: new Date().toISOString(),
    });
    assert.equal(write.statusCode, 403);
    await fx.call(W.admin.token, 'PATCH', `/v1/users/${W.operator.id}`, { role: 'operator' });
  });
});

describe('invites', () => {
  async function invite(email = `inv-${randomUUID()}@example.com`) {
    const res = await fx.call(W.admin.token, 'POST', '/v1/invites', {
      email,
      role: 'operator',
      siteIds: [W.sites[0]],
    });
    assert.equal(res.statusCode, 201);
    return { email, ...res.json<{ token: string; invite: { id: string } }>() };
  }
  const accept = (token: string) =>
    fx.call(null, 'POST', '/v1/invites/accept', { token, name: 'New person', password: PASSWORD });

  test('an invite is single use and creates the user with its role and sites', async () => {
    const inv = await invite();
    const first = await accept(inv.token);
    assert.equal(first.statusCode, 201);
    const s = first.json<SessionResponse>();
    assert.equal(s.user.email, inv.email);
    assert.equal(s.user.role, 'operator');
    assert.deepEqual(s.user.siteIds, [W.sites[0]]);
    const second = await accept(inv.token);
    assert.equal(second.statusCode, 401);
    assert.equal(second.json<{ error: { code: string } }>().error.code, 'INVALID_TOKEN');
    const listed = await fx.call(W.admin.token, 'GET', `/v1/invites/${inv.invite.id}`);
    assert.equal(listed.json<{ status: string }>().status, 'accepted');
  });

  test('two simultaneous accepts: exactly one user', async () => {
    const inv = await invite();
    const results = await Promise.all([accept(inv.token), accept(inv.token), accept(inv.token)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 401, 401]);
    const users = await fx.admin.query('SELECT 1 FROM users WHERE email = $1', [inv.email]);
    assert.equal(users.rowCount, 1);
  });

  test('an expired invite is refused and creates nothing', async () => {
    const inv = await invite();
    await fx.admin.query(
      "UPDATE invites SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1",
      [inv.invite.id],
    );
    const res = await accept(inv.token);
    assert.equal(res.statusCode, 401);
    assert.equal((await fx.admin.query('SELECT 1 FROM users WHERE email = $1', [inv.email])).rowCount, 0);
    const listed = await fx.call(W.admin.token, 'GET', `/v1/invites/${inv.invite.id}`);
    assert.equal(listed.json<{ status: string }>().status, 'expired');
  });

  test('a revoked invite is refused; a newer invite to the same email supersedes the older', async () => {
    const inv = await invite();
    assert.equal((await fx.call(W.admin.token, 'DELETE', `/v1/invites/${inv.invite.id}`)).statusCode, 204);
    assert.equal((await accept(inv.token)).statusCode, 401);
    const a = await invite();
    const b = await invite(a.email);
    assert.equal((await accept(a.token)).statusCode, 401, 'superseded');
    assert.equal((await accept(b.token)).statusCode, 201);
  });

  test('invite tokens are stored only as hashes', async () => {
    const inv = await invite();
    const { rows } = await fx.admin.query<{ row: string; hash: Buffer }>(
      'SELECT to_jsonb(i)::text AS row, token_hash AS hash FROM invites i WHERE id = $1',
      [inv.invite.id],
    );
    assert.deepEqual(rows[0]!.hash, sha256(inv.token));
    assert.ok(!rows[0]!.row.includes(inv.token.slice(3)));
  });
});
