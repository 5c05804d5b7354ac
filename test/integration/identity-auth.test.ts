/**
 * Login, rate limits, /v1/auth/me, password change, signup and the operator CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { SessionResponse } from '../../schemas/mod.ts';
import { PASSWORD, apiFixture, type ApiFixture, type World } from '../helpers/app.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

let fx: ApiFixture;
let W: World;
const cliTenants: string[] = [];
const cliUsers: string[] = [];

const code = (res: { json<T>(): T }) => res.json<{ error?: { code: string } }>().error?.code;

function loginFrom(ip: string, email: string, password: string) {
  return fx.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    remoteAddress: ip,
    payload: { email, password },
  });
}

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
});

after(async () => {
  if (cliTenants.length) await fx.admin.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [cliTenants]);
  if (cliUsers.length) await fx.admin.query('DELETE FROM users WHERE id = ANY($1::uuid[])', [cliUsers]);
  await fx?.close();
});

describe('login', () => {
  test('a wrong password and an unknown email get the same answer', async () => {
    const wrong = await loginFrom('10.1.0.1', W.operator.email, 'not the password');
    const unknown = await loginFrom(
      '10.1.0.1',
      `nobody-${randomBytes(4).toString('hex')}@example.com`,
      'whatever',
    );
    for (const res of [wrong, unknown]) {
      assert.equal(res.statusCode, 401);
      assert.equal(code(res), 'INVALID_CREDENTIALS');
    }
    assert.equal(
      wrong.json<{ error: { message: string } }>().error.message,
      unknown.json<{ error: { message: string } }>().error.message,
    );
  });

  test('email is case-insensitive; the session carries role and sites', async () => {
    const res = await loginFrom('10.1.0.2', W.siteOperator.email.toUpperCase(), PASSWORD);
    assert.equal(res.statusCode, 200);
    const s = res.json<SessionResponse>();
    assert.equal(s.tokenType, 'Bearer');
    assert.equal(s.expiresIn, fx.config.JWT_ACCESS_TTL_S);
    assert.deepEqual(s.user.siteIds, [W.sites[0]]);
    assert.equal(s.user.role, 'operator');
    const me = await fx.call(s.accessToken, 'GET', '/v1/auth/me');
    assert.equal(me.json<{ user: { id: string } }>().user.id, W.siteOperator.id);
  });

  test('logins are rate limited per email (429 with Retry-After), other emails unaffected', async () => {
    const limit = fx.app.identity.limits.loginPerEmail.max;
    const statuses: number[] = [];
    for (let i = 0; i <= limit; i++) {
      // Different client addresses: the per-email limit is what trips.
      statuses.push((await loginFrom(`10.2.0.${i + 1}`, W.viewer.email, 'guessing')).statusCode);
    }
    assert.deepEqual(statuses, [...Array<number>(limit).fill(401), 429]);
    const limited = await loginFrom('10.2.1.1', W.viewer.email, PASSWORD);
    assert.equal(limited.statusCode, 429, 'even the right password waits for the window');
    assert.equal(code(limited), 'RATE_LIMITED');
    const retry = Number(limited.headers['retry-after']);
    assert.ok(
      retry >= 1 && retry <= fx.app.identity.limits.loginPerEmail.windowMs / 1000,
      `Retry-After ${retry}`,
    );
    assert.equal((await loginFrom('10.2.1.1', W.operator.email, PASSWORD)).statusCode, 200);
  });

  test('every spelling of an email that reaches the account shares its limit', async () => {
    const limit = fx.app.identity.limits.loginPerEmail.max;
    // A fresh account, so no other test's attempts count against it.
    const email = `limit-${randomBytes(4).toString('hex')}@example.com`;
    const invite = await fx.call(W.admin.token, 'POST', '/v1/invites', { email, role: 'viewer' });
    const user = await fx.call(null, 'POST', '/v1/invites/accept', {
      token: invite.json<{ token: string }>().token,
      name: 'Limit',
      password: PASSWORD,
    });
    assert.equal(user.statusCode, 201);
    // PostgreSQL's citext folds 'İ' to 'i'; JavaScript's toLowerCase makes it 'i̇': a different string.
    const dotted = email.replace('i', 'İ');
    assert.notEqual(dotted.toLowerCase(), email.toLowerCase());
    const right = await loginFrom('10.6.0.1', dotted, PASSWORD);
    assert.equal(right.statusCode, 200, 'the spelling reaches the account');
    assert.equal(right.json<SessionResponse>().user.id, user.json<SessionResponse>().user.id);
    for (let i = 1; i < limit; i++) {
      assert.equal((await loginFrom(`10.6.0.${i + 1}`, email, 'guessing')).statusCode, 401);
    }
    for (const spelling of [dotted, email.toUpperCase(), email]) {
      const res = await loginFrom('10.6.1.1', spelling, PASSWORD);
      assert.equal(res.statusCode, 429, spelling);
      assert.equal(code(res), 'RATE_LIMITED');
    }
  });

  test('logins are rate limited per client address', async () => {
    const limit = fx.app.identity.limits.loginPerIp.max;
    let last = 0;
    for (let i = 0; i <= limit; i++) {
      last = (await loginFrom('10.3.0.1', `probe${i}@example.com`, 'x')).statusCode;
    }
    assert.equal(last, 429);
  });

  test('refresh is rate limited per client address', async () => {
    const limit = fx.app.identity.limits.refreshPerIp.max;
    const statuses = new Set<number>();
    for (let i = 0; i <= limit; i++) {
      const res = await fx.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        remoteAddress: '10.4.0.1',
        payload: { refreshToken: `vr_${'b'.repeat(43)}` },
      });
      statuses.add(res.statusCode);
    }
    assert.deepEqual([...statuses].sort(), [401, 429]);
  });
});

describe('password change', () => {
  test('needs the current password, then ends every session', async () => {
    const email = W.siteViewer.email;
    const s1 = await fx.login(email);
    const s2 = await fx.login(email);
    const bad = await fx.call(s1.accessToken, 'POST', '/v1/auth/password', {
      currentPassword: 'wrong one',
      newPassword: 'an entirely new password',
    });
    assert.equal(bad.statusCode, 401);
    const ok = await fx.call(s1.accessToken, 'POST', '/v1/auth/password', {
      currentPassword: PASSWORD,
      newPassword: 'an entirely new password',
    });
    assert.equal(ok.statusCode, 204);
    assert.equal((await fx.call(s2.accessToken, 'GET', '/v1/auth/me')).statusCode, 401);
    assert.equal(
      (await fx.call(null, 'POST', '/v1/auth/refresh', { refreshToken: s2.refreshToken })).statusCode,
      401,
    );
    assert.equal((await loginFrom('10.5.0.1', email, PASSWORD)).statusCode, 401);
    assert.equal((await loginFrom('10.5.0.1', email, 'an entirely new password')).statusCode, 200);
    const { rows } = await fx.admin.query<{ hash: string }>(
      'SELECT password_hash AS hash FROM users WHERE id = $1',
      [W.siteViewer.id],
    );
    assert.match(rows[0]!.hash, /^\$argon2id\$/);
  });
});

describe('signup', () => {
  test('is refused unless VIGIL_ALLOW_SIGNUP=true', async () => {
    const res = await fx.call(null, 'POST', '/v1/tenants/signup', {
      tenantName: 'Corner shop',
      slug: `corner-${randomBytes(4).toString('hex')}`,
      name: 'Owner',
      email: `owner-${randomBytes(4).toString('hex')}@example.com`,
      password: PASSWORD,
    });
    assert.equal(res.statusCode, 403);
  });

  test('with VIGIL_ALLOW_SIGNUP=true creates the tenant and its owner, once per slug', async () => {
    const open = await apiFixture({ VIGIL_ALLOW_SIGNUP: true });
    try {
      const slug = `corner-${randomBytes(4).toString('hex')}`;
      const body = {
        tenantName: 'Corner shop',
        slug,
        name: 'Owner',
        email: `owner-${randomBytes(4).toString('hex')}@example.com`,
        password: PASSWORD,
      };
      const res = await open.call(null, 'POST', '/v1/tenants/signup', body);
      assert.equal(res.statusCode, 201, res.body);
      const s = res.json<SessionResponse>();
      cliTenants.push(s.user.tenantId);
      assert.equal(s.user.role, 'tenant_admin');
      const site = await open.call(s.accessToken, 'POST', '/v1/sites', {
        name: 'Main',
        timezone: 'Europe/Berlin',
      });
      assert.equal(site.statusCode, 201);
      const again = await open.call(null, 'POST', '/v1/tenants/signup', { ...body, email: `x${body.email}` });
      assert.equal(again.statusCode, 409);
      assert.equal(code(again), 'CONFLICT');
      const reserved = await open.call(null, 'POST', '/v1/tenants/signup', {
        ...body,
        slug: 'platform',
        email: `y${body.email}`,
      });
      assert.equal(reserved.statusCode, 409);
    } finally {
      await open.close();
    }
  });
});

describe('CLI', () => {
  const cli = (...args: string[]) =>
    run(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'ops', 'cli.ts'), ...args], {
      env: { ...process.env, DATABASE_URL: fx.config.DATABASE_URL },
      cwd: ROOT,
    });

  test('create-tenant makes the first tenant and its owner, who can log in', async () => {
    const slug = `cli-${randomBytes(4).toString('hex')}`;
    const email = `${slug}@example.com`;
    const { stdout } = await cli(
      'create-tenant',
      '--name',
      'CLI Foods',
      '--slug',
      slug,
      '--email',
      email,
      '--password',
      PASSWORD,
    );
    const out = JSON.parse(stdout) as { tenantId: string; ownerId: string };
    cliTenants.push(out.tenantId);
    const s = await fx.login(email);
    assert.equal(s.user.role, 'tenant_admin');
    assert.equal(s.user.tenantId, out.tenantId);
    const dup = await cli(
      'create-tenant',
      '--name',
      'X',
      '--slug',
      slug,
      '--email',
      `2${email}`,
      '--password',
      PASSWORD,
    ).catch((e: { code: number; stderr: string }) => e);
    assert.equal((dup as { code: number }).code, 1);
    assert.match((dup as { stderr: string }).stderr, /CONFLICT/);
  });

  test('create-platform-admin makes a platform admin who can list tenants', async () => {
    const email = `pa-${randomBytes(4).toString('hex')}@example.com`;
    const { stdout } = await cli('create-platform-admin', '--email', email, '--password', PASSWORD);
    const out = JSON.parse(stdout) as { userId: string; role: string };
    cliUsers.push(out.userId);
    assert.equal(out.role, 'platform_admin');
    const s = await fx.login(email);
    assert.equal((await fx.call(s.accessToken, 'GET', '/v1/tenants')).statusCode, 200);
  });

  test('bad arguments: usage and exit code 2, nothing created', async () => {
    for (const args of [
      ['create-tenant', '--name', 'X', '--slug', 'Bad Slug', '--email', 'a@b.co', '--password', PASSWORD],
      ['create-tenant', '--name', 'X', '--slug', 'ok-slug-x', '--email', 'a@b.co', '--password', 'short'],
      ['create-tenant', '--name', 'X'],
      ['launch-rockets'],
    ]) {
      const err = (await cli(...args).catch((e: unknown) => e)) as { code?: number; stderr?: string };
      assert.equal(err.code, 2, args.join(' '));
      assert.match(err.stderr ?? '', /usage/);
    }
  });
});

describe('OpenAPI', () => {
  test('/openapi.json documents the management API, and /docs serves a page', async () => {
    const doc = (await fx.call(null, 'GET', '/openapi.json')).json<{ paths: Record<string, unknown> }>();
    for (const p of [
      '/v1/auth/login',
      '/v1/tenants',
      '/v1/sites/{id}',
      '/v1/users/{id}',
      '/v1/invites/accept',
      '/v1/equipment/{id}/api-key',
      '/v1/maintenance',
      '/v1/alerts/{id}/timeline',
      '/v1/alert-rules/{id}',
      '/v1/audit-log',
    ]) {
      assert.ok(p in doc.paths, p);
    }
    const docs = await fx.call(null, 'GET', '/docs/');
    assert.equal(docs.statusCode, 200);
  });
});
