/**
 * Hostile input over HTTP (issue 10): what an outsider probing a running Vigil found, each
 * answered with a stable 4xx code instead of a 500, a hang or a leak.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SessionResponse } from '../../schemas/mod.ts';
import { apiFixture, PASSWORD, type ApiFixture, type World } from '../helpers/app.ts';

let fx: ApiFixture;
let W: World;

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
});

after(async () => {
  await fx?.close();
});

const NUL = 'a\u0000b';

describe('a NUL character in any stored string', () => {
  const cases: Array<{
    name: string;
    as: () => string | null;
    method: 'GET' | 'POST' | 'PATCH';
    url: () => string;
    body?: () => Record<string, unknown>;
    at: string;
  }> = [
    {
      name: 'site name',
      as: () => W.admin.token,
      method: 'POST',
      url: () => '/v1/sites',
      body: () => ({ name: NUL, timezone: 'UTC' }),
      at: 'body/name',
    },
    {
      name: 'maintenance description',
      as: () => W.operator.token,
      method: 'POST',
      url: () => '/v1/maintenance',
      body: () => ({
        equipmentId: W.equipment[0],
        kind: 'repair',
        description: NUL,
        performedAt: new Date().toISOString(),
      }),
      at: 'body/description',
    },
    {
      name: 'rule name',
      as: () => W.admin.token,
      method: 'PATCH',
      url: () => `/v1/alert-rules/${W.rules[0]}`,
      body: () => ({ name: NUL }),
      at: 'body/name',
    },
    {
      name: 'serial',
      as: () => W.admin.token,
      method: 'POST',
      url: () => '/v1/equipment',
      body: () => ({ siteId: W.sites[0], name: 'E', serial: NUL, kind: 'chiller' }),
      at: 'body/serial',
    },
    {
      name: 'query parameter',
      as: () => W.admin.token,
      method: 'GET',
      url: () => '/v1/audit-log?targetId=a%00b',
      at: 'querystring/targetId',
    },
    {
      name: 'login email',
      as: () => null,
      method: 'POST',
      url: () => '/v1/auth/login',
      body: () => ({ email: `x${NUL}@example.com`, password: 'whatever it is' }),
      at: 'body/email',
    },
    {
      name: 'object key nested in a rule',
      as: () => W.admin.token,
      method: 'PATCH',
      url: () => `/v1/alert-rules/${W.rules[0]}`,
      body: () => ({ params: { [NUL]: 1 } }),
      at: 'body/params/a\\u0000b',
    },
  ];
  for (const c of cases) {
    test(`${c.name}: 400 NUL_CHARACTER, nothing written`, async () => {
      const res = await fx.call(c.as(), c.method, c.url(), c.body?.());
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json<{ error: { code: string; message: string } }>();
      assert.equal(error.code, 'NUL_CHARACTER');
      assert.equal(error.message, `${c.at}: contains a NUL character (U+0000)`);
    });
  }

  test('a tenant’s site list holds no NUL after the attempts', async () => {
    const { rows } = await fx.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sites WHERE tenant_id = $1 AND name LIKE 'a%b'`,
      [W.tenantId],
    );
    assert.equal(rows[0]!.n, 0);
  });
});

describe('a timestamp of 1e20', () => {
  test('POST /v1/telemetry answers 400 TIMESTAMP_OUT_OF_RANGE, like any other bad timestamp', async () => {
    for (const ts of [1e20, Date.now() + 86_400_000]) {
      const res = await fx.call(
        null,
        'POST',
        '/v1/telemetry',
        { ts, temperature: 4 },
        { 'x-api-key': W.apiKeys[0] },
      );
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json<{ error: { code: string; message: string } }>();
      assert.equal(error.code, 'TIMESTAMP_OUT_OF_RANGE');
      assert.match(error.message, /^\/ts: .* is in the future$/);
    }
  });
});

describe('account discovery across tenants', () => {
  /** Invite `email` into W2 as its admin and accept it: every answer the admin sees. */
  async function inviteAndAccept(W2: World, email: string, password: string): Promise<number[]> {
    const inv = await fx.call(W2.admin.token, 'POST', '/v1/invites', { email, role: 'viewer' });
    const token = inv.json<{ token?: string }>().token;
    const accepted = await fx.call(null, 'POST', '/v1/invites/accept', { token, name: 'N', password });
    return [inv.statusCode, accepted.statusCode];
  }

  test('inviting an email that has an account in another tenant answers exactly as for a new one', async () => {
    const W2 = await fx.world();
    const fresh = `fresh-${Date.now()}@example.com`;
    const answers = {
      existing: await inviteAndAccept(W2, W.viewer.email, 'another long password'),
      fresh: await inviteAndAccept(W2, fresh, 'another long password'),
    };
    assert.deepEqual(answers, { existing: [201, 201], fresh: [201, 201] });

    // Each account opens with its own password, in its own tenant.
    const mine = await fx.call(null, 'POST', '/v1/auth/login', { email: W.viewer.email, password: PASSWORD });
    assert.equal(mine.statusCode, 200, mine.body);
    assert.equal(mine.json<SessionResponse>().user.tenantId, W.tenantId);
    const theirs = await fx.call(null, 'POST', '/v1/auth/login', {
      email: W.viewer.email,
      password: 'another long password',
    });
    assert.equal(theirs.statusCode, 200, theirs.body);
    assert.equal(theirs.json<SessionResponse>().user.tenantId, W2.tenantId);
  });

  test('one email and password in two tenants: login asks which, and the tenant slug chooses', async () => {
    const W2 = await fx.world();
    assert.deepEqual(await inviteAndAccept(W2, W.operator.email, PASSWORD), [201, 201]);
    const ambiguous = await fx.call(null, 'POST', '/v1/auth/login', {
      email: W.operator.email,
      password: PASSWORD,
    });
    assert.equal(ambiguous.statusCode, 409, ambiguous.body);
    assert.equal(ambiguous.json<{ error: { code: string } }>().error.code, 'TENANT_REQUIRED');
    for (const w of [W, W2]) {
      const res = await fx.call(null, 'POST', '/v1/auth/login', {
        email: W.operator.email,
        password: PASSWORD,
        tenant: w.slug,
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<SessionResponse>().user.tenantId, w.tenantId);
    }
    // A wrong slug is the same answer as a wrong password.
    const wrong = await fx.call(null, 'POST', '/v1/auth/login', {
      email: W.operator.email,
      password: PASSWORD,
      tenant: 'no-such-tenant',
    });
    assert.equal(wrong.statusCode, 401);
  });
});

describe('an empty reading', () => {
  test('POST /v1/telemetry {} is 400 VALIDATION_FAILED, and nothing is published', async () => {
    for (const body of [{}, { ts: Date.now() }, { readings: [{ temperature: 3 }, {}] }]) {
      const res = await fx.call(null, 'POST', '/v1/telemetry', body, { 'x-api-key': W.apiKeys[0] });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'VALIDATION_FAILED');
    }
  });
});
