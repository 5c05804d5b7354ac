/**
 * Bad input per resource: missing fields, wrong types, unknown fields, oversized values and
 * bodies, malformed JSON — each a 4xx with a stable error code, and nothing written.
 * Variants are derived from each route's body schema and one valid body, so every field of
 * every body is exercised.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TObject, TSchema } from '@sinclair/typebox';
import {
  AcceptInviteBody,
  AlertAckBody,
  AlertResolveBody,
  AlertRuleCreateBody,
  AlertRuleUpdateBody,
  AlertSnoozeBody,
  ChangePasswordBody,
  EquipmentCreateBody,
  EquipmentUpdateBody,
  InviteCreateBody,
  LoginBody,
  MaintenanceCreateBody,
  MaintenanceUpdateBody,
  RefreshBody,
  SignupBody,
  SiteCreateBody,
  SiteUpdateBody,
  TenantCreateBody,
  TenantUpdateBody,
  UserUpdateBody,
  compile,
} from '../../schemas/mod.ts';
import { apiFixture, type Actor, type ApiFixture, type World } from '../helpers/app.ts';

let fx: ApiFixture;
let W: World;
let platform: Actor;

interface Case {
  name: string;
  method: 'POST' | 'PATCH';
  url: () => string;
  schema: TObject;
  valid: () => Record<string, unknown>;
  as: () => string | null;
}

const now = () => new Date().toISOString();
const threshold = {
  metric: 'temperature',
  op: '>',
  levels: [{ severity: 'warning', value: -12 }],
  for_s: 60,
  clear: { for_s: 60 },
};

const CASES: Case[] = [
  {
    name: 'login',
    method: 'POST',
    url: () => '/v1/auth/login',
    schema: LoginBody,
    valid: () => ({ email: 'a@b.co', password: 'secret' }),
    as: () => null,
  },
  {
    name: 'refresh',
    method: 'POST',
    url: () => '/v1/auth/refresh',
    schema: RefreshBody,
    valid: () => ({ refreshToken: 'vr_' + 'a'.repeat(43) }),
    as: () => null,
  },
  {
    name: 'change password',
    method: 'POST',
    url: () => '/v1/auth/password',
    schema: ChangePasswordBody,
    valid: () => ({ currentPassword: 'x', newPassword: 'long enough pw' }),
    as: () => W.viewer.token,
  },
  {
    name: 'accept invite',
    method: 'POST',
    url: () => '/v1/invites/accept',
    schema: AcceptInviteBody,
    valid: () => ({ token: 'vi_' + 'a'.repeat(43), name: 'N', password: 'long enough pw' }),
    as: () => null,
  },
  {
    name: 'signup',
    method: 'POST',
    url: () => '/v1/tenants/signup',
    schema: SignupBody,
    valid: () => ({ tenantName: 'T', slug: 'tt-x', name: 'N', email: 'a@b.co', password: 'long enough pw' }),
    as: () => null,
  },
  {
    name: 'create tenant',
    method: 'POST',
    url: () => '/v1/tenants',
    schema: TenantCreateBody,
    valid: () => ({ name: 'T', slug: 'tt-y' }),
    as: () => platform.token,
  },
  {
    name: 'update tenant',
    method: 'PATCH',
    url: () => `/v1/tenants/${W.tenantId}`,
    schema: TenantUpdateBody,
    valid: () => ({ name: 'T2', status: 'active' }),
    as: () => platform.token,
  },
  {
    name: 'create site',
    method: 'POST',
    url: () => '/v1/sites',
    schema: SiteCreateBody,
    valid: () => ({ name: 'S', timezone: 'UTC', address: 'Main St 1' }),
    as: () => W.admin.token,
  },
  {
    name: 'update site',
    method: 'PATCH',
    url: () => `/v1/sites/${W.sites[0]}`,
    schema: SiteUpdateBody,
    valid: () => ({ name: 'S2', timezone: 'UTC' }),
    as: () => W.admin.token,
  },
  {
    name: 'update user',
    method: 'PATCH',
    url: () => `/v1/users/${W.viewer.id}`,
    schema: UserUpdateBody,
    valid: () => ({ name: 'V', role: 'viewer', siteIds: [W.sites[0]], disabled: false }),
    as: () => W.admin.token,
  },
  {
    name: 'create invite',
    method: 'POST',
    url: () => '/v1/invites',
    schema: InviteCreateBody,
    valid: () => ({
      email: `${randomUUID()}@example.com`,
      role: 'viewer',
      siteIds: [W.sites[0]],
      expiresInHours: 24,
    }),
    as: () => W.admin.token,
  },
  {
    name: 'register equipment',
    method: 'POST',
    url: () => '/v1/equipment',
    schema: EquipmentCreateBody,
    valid: () => ({ siteId: W.sites[0], name: 'E', serial: 'SN-1', kind: 'chiller', setpoint: 4 }),
    as: () => W.admin.token,
  },
  {
    name: 'update equipment',
    method: 'PATCH',
    url: () => `/v1/equipment/${W.equipment[0]}`,
    schema: EquipmentUpdateBody,
    valid: () => ({ name: 'E2', setpoint: -20 }),
    as: () => W.admin.token,
  },
  {
    name: 'record maintenance',
    method: 'POST',
    url: () => '/v1/maintenance',
    schema: MaintenanceCreateBody,
    valid: () => ({
      equipmentId: W.equipment[0],
      kind: 'repair',
      description: 'd',
      technician: 't',
      performedAt: now(),
    }),
    as: () => W.operator.token,
  },
  {
    name: 'update maintenance',
    method: 'PATCH',
    url: () => `/v1/maintenance/${W.maintenance[0]}`,
    schema: MaintenanceUpdateBody,
    valid: () => ({ description: 'd2', technician: 't2' }),
    as: () => W.operator.token,
  },
  {
    name: 'create rule',
    method: 'POST',
    url: () => '/v1/alert-rules',
    schema: AlertRuleCreateBody,
    valid: () => ({
      key: 'warm',
      kind: 'threshold',
      name: 'Warm',
      params: threshold,
      latched: false,
      enabled: true,
    }),
    as: () => W.admin.token,
  },
  {
    name: 'update rule',
    method: 'PATCH',
    url: () => `/v1/alert-rules/${W.rules[0]}`,
    schema: AlertRuleUpdateBody,
    valid: () => ({ name: 'n', enabled: false }),
    as: () => W.admin.token,
  },
  {
    name: 'ack alert',
    method: 'POST',
    url: () => `/v1/alerts/${W.alerts[0]}/ack`,
    schema: AlertAckBody,
    valid: () => ({ note: 'n' }),
    as: () => W.operator.token,
  },
  {
    name: 'resolve alert',
    method: 'POST',
    url: () => `/v1/alerts/${W.alerts[0]}/resolve`,
    schema: AlertResolveBody,
    valid: () => ({ note: 'n' }),
    as: () => W.operator.token,
  },
  {
    name: 'snooze alert',
    method: 'POST',
    url: () => `/v1/alerts/${W.alerts[0]}/snooze`,
    schema: AlertSnoozeBody,
    valid: () => ({ minutes: 30 }),
    as: () => W.operator.token,
  },
];

/** A value of the wrong JSON type for `schema`: the first candidate the schema rejects. */
function wrongType(schema: TSchema): unknown {
  for (const v of [12345, 'twelve', true, ['x'], { x: 1 }]) if (!compile(schema)(v)) return v;
  throw new Error('schema accepts every type');
}

/** Longer than allowed, when the schema bounds the length. */
function tooLong(schema: TSchema): string | null {
  const max =
    (schema as { maxLength?: number }).maxLength ??
    (schema.anyOf as TSchema[] | undefined)?.find((b) => b.maxLength)?.maxLength;
  return typeof max === 'number' ? 'x'.repeat(max + 1) : null;
}

async function digest(): Promise<string> {
  const { rows } = await fx.admin.query<{ h: string }>(
    `SELECT md5(string_agg(h, ',' ORDER BY h)) AS h FROM (
       SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM tenants t WHERE id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM sites t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM users t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM invites t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM equipment t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM maintenance_records t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM alert_rules t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM alerts t WHERE tenant_id = $1
       UNION ALL SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM audit_log t WHERE tenant_id = $1
     ) x`,
    [W.tenantId],
  );
  return rows[0]!.h;
}

async function expectRejected(
  c: Case,
  body: unknown,
  status: number,
  code: string,
  what: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fx.call(c.as(), c.method, c.url(), payload, {
    'content-type': 'application/json',
    ...headers,
  });
  assert.equal(res.statusCode, status, `${c.name}, ${what}: ${res.body}`);
  const err = res.json<{ error: { code: string; message: string } }>().error;
  assert.equal(err.code, code, `${c.name}, ${what}: ${err.message}`);
}

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
  platform = await fx.platformAdmin();
});

after(async () => {
  await fx?.close();
});

describe('bad input is refused with a stable code, and nothing is written', () => {
  test('each valid body is valid by its schema (so the variants below change one thing only)', () => {
    for (const c of CASES) assert.ok(compile(c.schema)(c.valid()), c.name);
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const before = await digest();
      const valid = c.valid();
      for (const field of c.schema.required ?? []) {
        const { [field]: _gone, ...rest } = valid;
        await expectRejected(c, rest, 400, 'VALIDATION_FAILED', `missing ${field}`);
      }
      for (const [field, schema] of Object.entries(c.schema.properties)) {
        await expectRejected(
          c,
          { ...valid, [field]: wrongType(schema) },
          400,
          'VALIDATION_FAILED',
          `wrong type of ${field}`,
        );
        const long = tooLong(schema);
        if (long)
          await expectRejected(c, { ...valid, [field]: long }, 400, 'VALIDATION_FAILED', `${field} too long`);
      }
      await expectRejected(c, { ...valid, colour: 'red' }, 400, 'UNKNOWN_FIELD', 'unknown field');
      await expectRejected(c, [valid], 400, 'VALIDATION_FAILED', 'an array instead of an object');
      await expectRejected(c, '{"name": ', 400, 'BAD_JSON', 'malformed JSON');
      await expectRejected(
        c,
        { ...valid, pad: 'x'.repeat(fx.config.VIGIL_MAX_BODY_BYTES) },
        413,
        'PAYLOAD_TOO_LARGE',
        'oversized body',
      );
      await expectRejected(c, 'name=x', 415, 'UNSUPPORTED_MEDIA_TYPE', 'form body', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.equal(await digest(), before, `${c.name}: something was written`);
    });
  }

  test('values the schema cannot judge: time zone, rule params, maintenance windows, scopes', async () => {
    const before = await digest();
    const admin = W.admin.token;
    const cases: [string, string, string, unknown, string][] = [
      [admin, 'POST', '/v1/sites', { name: 'S', timezone: 'Mars/Olympus' }, 'VALIDATION_FAILED'],
      [
        admin,
        'POST',
        '/v1/alert-rules',
        { key: 'k', kind: 'threshold', params: { metric: 'temperature' } },
        'VALIDATION_FAILED',
      ],
      [
        admin,
        'POST',
        '/v1/alert-rules',
        { key: 'k', kind: 'threshold', params: { ...threshold, colour: 1 } },
        'UNKNOWN_FIELD',
      ],
      [
        admin,
        'POST',
        '/v1/alert-rules',
        { key: 'k', kind: 'threshold', params: threshold, siteId: W.sites[0], equipmentId: W.equipment[0] },
        'VALIDATION_FAILED',
      ],
      [admin, 'PATCH', `/v1/alert-rules/${W.rules[0]}`, { params: { levels: [] } }, 'VALIDATION_FAILED'],
      [
        W.operator.token,
        'POST',
        '/v1/maintenance',
        { equipmentId: W.equipment[0], kind: 'repair', performedAt: now(), windowStart: now() },
        'VALIDATION_FAILED',
      ],
      [
        W.operator.token,
        'POST',
        '/v1/maintenance',
        { equipmentId: W.equipment[0], kind: 'repair', performedAt: now(), nextDue: '2000-01-01T00:00:00Z' },
        'VALIDATION_FAILED',
      ],
      [admin, 'PATCH', `/v1/users/${W.admin.id}`, { siteIds: [W.sites[0]] }, 'VALIDATION_FAILED'],
      [
        admin,
        'POST',
        '/v1/invites',
        { email: 'x@example.com', role: 'tenant_admin', siteIds: [W.sites[0]] },
        'VALIDATION_FAILED',
      ],
      [admin, 'PATCH', `/v1/sites/${W.sites[0]}`, {}, 'VALIDATION_FAILED'],
    ];
    for (const [token, method, url, body, code] of cases) {
      const res = await fx.call(token, method as 'POST', url, body);
      assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, `${method} ${url}`);
    }
    assert.equal(await digest(), before);
  });

  test('an empty site list is refused, never read as "every site"', async () => {
    const before = await digest();
    const admin = W.admin.token;
    const email = 'nosites@example.com';
    for (const [method, url, body] of [
      ['POST', '/v1/invites', { email, role: 'viewer', siteIds: [] }],
      ['POST', '/v1/invites', { email, role: 'operator', siteIds: [] }],
      ['POST', '/v1/invites', { email, role: 'tenant_admin', siteIds: [] }],
      ['PATCH', `/v1/users/${W.siteOperator.id}`, { siteIds: [] }],
      ['PATCH', `/v1/users/${W.viewer.id}`, { role: 'operator', siteIds: [] }],
    ] as const) {
      const res = await fx.call(admin, method, url, body);
      assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'VALIDATION_FAILED', url);
    }
    assert.equal(await digest(), before);
    // The restricted operator still sees exactly its one site.
    const sites = await fx.call(W.siteOperator.token, 'GET', '/v1/sites');
    assert.deepEqual(
      sites.json<{ items: { id: string }[] }>().items.map((i) => i.id),
      [W.sites[0]],
    );
  });

  test('ids, page sizes and cursors in the URL are checked', async () => {
    const t = W.admin.token;
    for (const [url, code] of [
      ['/v1/sites/not-a-uuid', 'VALIDATION_FAILED'],
      ['/v1/sites?limit=201', 'VALIDATION_FAILED'],
      ['/v1/sites?limit=0', 'VALIDATION_FAILED'],
      ['/v1/sites?cursor=garbage', 'VALIDATION_FAILED'],
      ['/v1/sites?color=red', 'UNKNOWN_FIELD'],
      ['/v1/alerts?status=everything', 'VALIDATION_FAILED'],
      ['/v1/audit-log?cursor=WyJ4IiwieSJd', 'VALIDATION_FAILED'],
    ] as const) {
      const res = await fx.call(t, 'GET', url);
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, url);
    }
  });
});
