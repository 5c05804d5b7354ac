/**
 * Role checks per action (SPEC §3): viewers read, operators ack and record maintenance, tenant
 * admins manage, platform admins cross tenants through the explicit, audited path only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { PASSWORD, apiFixture, type Actor, type ApiFixture, type World } from '../helpers/app.ts';
import { routeTable, sample, urlFor } from '../helpers/openapi.ts';

let fx: ApiFixture;
let A: World;
let B: World;
let platform: Actor & { tenantId: string };

const code = (res: LightMyRequestResponse) => res.json<{ error?: { code: string } }>().error?.code;

async function rowCounts(tenantId: string): Promise<Record<string, number>> {
  const { rows } = await fx.admin.query<{ t: string; n: number }>(
    `SELECT 'sites' AS t, count(*)::int AS n FROM sites WHERE tenant_id = $1
     UNION ALL SELECT 'users', count(*)::int FROM users WHERE tenant_id = $1
     UNION ALL SELECT 'equipment', count(*)::int FROM equipment WHERE tenant_id = $1
     UNION ALL SELECT 'rules', count(*)::int FROM alert_rules WHERE tenant_id = $1
     UNION ALL SELECT 'maintenance', count(*)::int FROM maintenance_records WHERE tenant_id = $1
     UNION ALL SELECT 'invites', count(*)::int FROM invites WHERE tenant_id = $1
     UNION ALL SELECT 'acked', count(*)::int FROM alerts WHERE tenant_id = $1 AND status <> 'active'`,
    [tenantId],
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

before(async () => {
  fx = await apiFixture();
  A = await fx.world();
  B = await fx.world();
  platform = await fx.platformAdmin();
});

after(async () => {
  await fx?.close();
});

describe('viewers read only', () => {
  test('every write route with user authentication answers 403 to a viewer, and writes nothing', async () => {
    const before = await rowCounts(A.tenantId);
    const writes = routeTable(fx.app).filter(
      (r) => r.bearer && r.method !== 'GET' && !r.path.startsWith('/v1/auth/'),
    );
    assert.ok(writes.length >= 20, `only ${writes.length} write routes`);
    // The viewer's own ids: a 403 here is the role check, not a missing object.
    const ids = [
      A.sites[0],
      A.equipment[0],
      A.alerts[0],
      A.maintenance[0],
      A.rules[0],
      A.admin.id,
      A.pendingInvite,
    ];
    for (const route of writes) {
      for (const id of ids) {
        const res = await fx.call(
          A.viewer.token,
          route.method as 'POST',
          urlFor(route, id),
          route.body ? sample(route.body, id) : undefined,
        );
        assert.equal(res.statusCode, 403, `${route.method} ${route.path} with ${id}: ${res.body}`);
        assert.equal(code(res), 'FORBIDDEN');
      }
    }
    assert.deepEqual(await rowCounts(A.tenantId), before);
  });

  test('a viewer reads sites, equipment, alerts, rules and maintenance', async () => {
    for (const url of [
      '/v1/sites',
      '/v1/equipment',
      '/v1/alerts',
      '/v1/alert-rules',
      '/v1/maintenance',
      `/v1/alerts/${A.alerts[0]}/timeline`,
    ]) {
      const res = await fx.call(A.viewer.token, 'GET', url);
      assert.equal(res.statusCode, 200, url);
      assert.ok(res.json<{ items: unknown[] }>().items.length > 0, url);
    }
  });
});

describe('operators', () => {
  test('cannot manage users, invites, sites, equipment or rules', async () => {
    const denied: [string, string, unknown?][] = [
      ['GET', '/v1/users'],
      ['GET', `/v1/users/${A.viewer.id}`],
      ['PATCH', `/v1/users/${A.viewer.id}`, { role: 'operator' }],
      ['DELETE', `/v1/users/${A.viewer.id}`],
      ['POST', '/v1/invites', { email: `x-${randomUUID()}@example.com`, role: 'tenant_admin' }],
      ['GET', '/v1/invites'],
      ['POST', '/v1/sites', { name: 'x', timezone: 'UTC' }],
      ['DELETE', `/v1/sites/${A.sites[0]}`],
      ['POST', '/v1/equipment', { siteId: A.sites[0], name: 'x' }],
      ['POST', `/v1/equipment/${A.equipment[0]}/api-key`],
      ['PATCH', `/v1/alert-rules/${A.rules[0]}`, { enabled: false }],
      ['DELETE', `/v1/maintenance/${A.maintenance[0]}`],
      ['GET', '/v1/audit-log'],
      ['GET', '/v1/tenants'],
    ];
    for (const [method, url, body] of denied) {
      const res = await fx.call(A.operator.token, method as 'GET', url, body);
      assert.equal(res.statusCode, 403, `${method} ${url}`);
    }
  });

  test('acknowledge and resolve alerts, and record maintenance', async () => {
    const ack = await fx.call(A.operator.token, 'POST', `/v1/alerts/${A.alerts[0]}/ack`, { note: 'on it' });
    assert.equal(ack.statusCode, 200, ack.body);
    assert.equal(ack.json<{ status: string; acknowledgedBy: string }>().acknowledgedBy, A.operator.id);
    const again = await fx.call(A.operator.token, 'POST', `/v1/alerts/${A.alerts[0]}/ack`, {});
    assert.equal(again.statusCode, 409);
    assert.equal(code(again), 'INVALID_STATE');
    const noNote = await fx.call(A.operator.token, 'POST', `/v1/alerts/${A.alerts[0]}/resolve`, {});
    assert.equal(noNote.statusCode, 400);
    const resolved = await fx.call(A.operator.token, 'POST', `/v1/alerts/${A.alerts[0]}/resolve`, {
      note: 'door seal replaced',
    });
    assert.equal(resolved.statusCode, 200);
    assert.equal(resolved.json<{ status: string }>().status, 'resolved');
    const timeline = await fx.call(A.viewer.token, 'GET', `/v1/alerts/${A.alerts[0]}/timeline`);
    assert.deepEqual(
      timeline.json<{ items: { action: string }[] }>().items.map((e) => e.action),
      ['opened', 'acknowledged', 'resolved'],
    );
    const m = await fx.call(A.operator.token, 'POST', '/v1/maintenance', {
      equipmentId: A.equipment[1],
      kind: 'repair',
      description: 'fan motor',
      technician: 'Ayşe',
      performedAt: new Date().toISOString(),
    });
    assert.equal(m.statusCode, 201, m.body);
  });

  test('a restricted operator cannot act on another site', async () => {
    const res = await fx.call(A.siteOperator.token, 'POST', `/v1/alerts/${A.alerts[1]}/ack`, {});
    assert.equal(res.statusCode, 404);
    const m = await fx.call(A.siteOperator.token, 'POST', '/v1/maintenance', {
      equipmentId: A.equipment[1],
      kind: 'repair',
      performedAt: new Date().toISOString(),
    });
    assert.equal(m.statusCode, 404);
  });
});

describe('tenant admins', () => {
  test('cannot reach another tenant, with or without the platform header', async () => {
    for (const url of [
      `/v1/sites/${B.sites[0]}`,
      `/v1/users/${B.admin.id}`,
      `/v1/equipment/${B.equipment[0]}`,
    ]) {
      assert.equal((await fx.call(A.admin.token, 'GET', url)).statusCode, 404, url);
    }
    const act = await fx.call(A.admin.token, 'GET', '/v1/sites', undefined, { 'x-vigil-tenant': B.tenantId });
    assert.equal(act.statusCode, 403);
    assert.equal((await fx.call(A.admin.token, 'GET', `/v1/tenants/${B.tenantId}`)).statusCode, 403);
  });

  test('cannot create platform admins or change one', async () => {
    const inv = await fx.call(A.admin.token, 'POST', '/v1/invites', {
      email: `p-${randomUUID()}@example.com`,
      role: 'platform_admin',
    });
    assert.equal(inv.statusCode, 400);
    const promote = await fx.call(A.admin.token, 'PATCH', `/v1/users/${A.operator.id}`, {
      role: 'platform_admin',
    });
    assert.equal(promote.statusCode, 400);
    // A platform admin lives in the platform tenant: invisible to a tenant admin.
    assert.equal(
      (await fx.call(A.admin.token, 'PATCH', `/v1/users/${platform.id}`, { name: 'x' })).statusCode,
      404,
    );
  });

  test('cannot remove the last active admin of the tenant', async () => {
    for (const [method, body] of [
      ['PATCH', { role: 'viewer' }],
      ['PATCH', { disabled: true }],
      ['DELETE', undefined],
    ] as const) {
      const res = await fx.call(A.admin.token, method, `/v1/users/${A.admin.id}`, body);
      assert.equal(res.statusCode, 409, `${method} ${JSON.stringify(body)}`);
      assert.equal(code(res), 'INVALID_STATE');
    }
  });

  test('manage users: role and site changes are audited', async () => {
    const res = await fx.call(A.admin.token, 'PATCH', `/v1/users/${A.viewer.id}`, { siteIds: [A.sites[1]] });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json<{ siteIds: string[] }>().siteIds, [A.sites[1]]);
    const promote = await fx.call(A.admin.token, 'PATCH', `/v1/users/${A.viewer.id}`, {
      role: 'tenant_admin',
    });
    assert.equal(promote.json<{ siteIds: unknown }>().siteIds, null, 'admins are never site-restricted');
    const log = await fx.call(A.admin.token, 'GET', `/v1/audit-log?targetId=${A.viewer.id}`);
    const actions = log.json<{ items: { action: string; actorUserId: string }[] }>().items;
    // Newest first; the user's own creation (accepting the invite) is the oldest entry.
    assert.deepEqual(
      actions.map((a) => a.action),
      ['user.role_change', 'user.update', 'user.create'],
    );
    assert.deepEqual(
      actions.map((a) => a.actorUserId),
      [A.admin.id, A.admin.id, A.viewer.id],
    );
    await fx.call(A.admin.token, 'PATCH', `/v1/users/${A.viewer.id}`, { role: 'viewer', siteIds: null });
  });
});

describe('platform admins', () => {
  test('list every tenant and read any tenant', async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const res: LightMyRequestResponse = await fx.call(
        platform.token,
        'GET',
        `/v1/tenants?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.statusCode, 200);
      const body = res.json<{ items: { id: string }[]; nextCursor: string | null }>();
      for (const t of body.items) seen.add(t.id);
      cursor = body.nextCursor;
    } while (cursor);
    assert.ok(seen.has(A.tenantId) && seen.has(B.tenantId) && seen.has(platform.tenantId));
    assert.equal((await fx.call(platform.token, 'GET', `/v1/tenants/${B.tenantId}`)).statusCode, 200);
  });

  test('act in a tenant only with the header, and every such request is audited in that tenant', async () => {
    const own = await fx.call(platform.token, 'GET', '/v1/sites');
    assert.ok(!own.body.includes(B.sites[0]), 'without the header, the platform tenant only');
    const acting = await fx.call(platform.token, 'GET', '/v1/sites', undefined, {
      'x-vigil-tenant': B.tenantId,
    });
    assert.equal(acting.statusCode, 200);
    assert.deepEqual(
      new Set(acting.json<{ items: { id: string }[] }>().items.map((s) => s.id)),
      new Set(B.sites),
    );
    const me = await fx.call(platform.token, 'GET', '/v1/auth/me', undefined, {
      'x-vigil-tenant': B.tenantId,
    });
    assert.equal(me.json<{ actingFrom: string; tenant: { id: string } }>().actingFrom, platform.tenantId);
    assert.equal(me.json<{ tenant: { id: string } }>().tenant.id, B.tenantId);
    const { rows } = await fx.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log
       WHERE tenant_id = $1 AND action = 'platform.act_as' AND actor_user_id = $2 AND actor_tenant_id = $3`,
      [B.tenantId, platform.id, platform.tenantId],
    );
    assert.equal(rows[0]!.n, 2);
    const unknown = await fx.call(platform.token, 'GET', '/v1/sites', undefined, {
      'x-vigil-tenant': randomUUID(),
    });
    assert.equal(unknown.statusCode, 404);
  });

  test('suspending a tenant stops its logins, tokens and device keys at once; reactivating restores logins', async () => {
    const s = await fx.login(B.operator.email);
    // This fixture has no telemetry stream: an accepted key gets 503 from the publish, a refused one 401.
    const device = async () =>
      (
        await fx.call(null, 'POST', '/v1/telemetry', { temperature: -18 }, { 'x-api-key': B.apiKeys[0] })
      ).json<{ error: { code: string } }>().error.code;
    assert.equal(await device(), 'DEPENDENCY_UNAVAILABLE', 'the key was accepted, and is now cached');
    const off = await fx.call(platform.token, 'PATCH', `/v1/tenants/${B.tenantId}`, { status: 'suspended' });
    assert.equal(off.statusCode, 200);
    assert.equal((await fx.call(s.accessToken, 'GET', '/v1/sites')).statusCode, 401);
    // The control message goes through the NATS server and back; flushing waits for that.
    await fx.deps.nc.flush();
    assert.equal(await device(), 'INVALID_API_KEY');
    const login = await fx.call(null, 'POST', '/v1/auth/login', {
      email: B.operator.email,
      password: PASSWORD,
    });
    assert.equal(login.statusCode, 401);
    assert.equal(
      (await fx.call(null, 'POST', '/v1/auth/refresh', { refreshToken: s.refreshToken })).statusCode,
      401,
    );
    const on = await fx.call(platform.token, 'PATCH', `/v1/tenants/${B.tenantId}`, { status: 'active' });
    assert.equal(on.statusCode, 200);
    assert.equal(
      (await fx.call(null, 'POST', '/v1/auth/login', { email: B.operator.email, password: PASSWORD }))
        .statusCode,
      200,
    );
    const log = await fx.admin.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE tenant_id = $1 AND target_type = 'tenant' ORDER BY id",
      [B.tenantId],
    );
    assert.deepEqual(
      log.rows.map((r) => r.action),
      ['tenant.create', 'tenant.suspend', 'tenant.reactivate'],
    );
  });

  test('manage global rules in their own tenant only; every tenant reads them, none changes them', async () => {
    const params = {
      metric: 'temperature',
      op: '>',
      levels: [{ severity: 'warning', value: 8 }],
      for_s: 600,
      clear: { for_s: 60 },
    };
    const key = `g_${randomUUID().slice(0, 8)}`;
    const body = { key, kind: 'threshold', params, global: true };
    const asTenantAdmin = await fx.call(A.admin.token, 'POST', '/v1/alert-rules', body);
    assert.equal(asTenantAdmin.statusCode, 403);
    const actingAs = await fx.call(platform.token, 'POST', '/v1/alert-rules', body, {
      'x-vigil-tenant': A.tenantId,
    });
    assert.equal(actingAs.statusCode, 403, 'acting in a tenant is acting as that tenant');

    const changed = fx.deps.nc.subscribe(fx.deps.names.ctl.rulesChanged, { max: 1 });
    const created = await fx.call(platform.token, 'POST', '/v1/alert-rules', body);
    assert.equal(created.statusCode, 201, created.body);
    const rule = created.json<{ id: string; scope: string }>();
    assert.equal(rule.scope, 'global');
    for await (const m of changed) assert.deepEqual(m.json(), { tenantId: null });

    const viewer = await fx.login(B.viewer.email);
    const read = await fx.call(viewer.accessToken, 'GET', `/v1/alert-rules?scope=global&key=${key}`);
    assert.deepEqual(
      read.json<{ items: { id: string }[] }>().items.map((r) => r.id),
      [rule.id],
    );
    assert.equal(
      (await fx.call(A.admin.token, 'PATCH', `/v1/alert-rules/${rule.id}`, { enabled: false })).statusCode,
      403,
    );
    assert.equal((await fx.call(A.admin.token, 'DELETE', `/v1/alert-rules/${rule.id}`)).statusCode, 403);
    const bad = await fx.call(platform.token, 'PATCH', `/v1/alert-rules/${rule.id}`, {
      params: { levels: [] },
    });
    assert.equal(bad.statusCode, 400);
    const off = await fx.call(platform.token, 'PATCH', `/v1/alert-rules/${rule.id}`, { enabled: false });
    assert.equal(off.json<{ enabled: boolean }>().enabled, false);
    assert.equal((await fx.call(platform.token, 'DELETE', `/v1/alert-rules/${rule.id}`)).statusCode, 204);
    const log = await fx.admin.query<{ action: string }>(
      'SELECT action FROM audit_log WHERE tenant_id = $1 AND target_id = $2 ORDER BY id',
      [platform.tenantId, rule.id],
    );
    assert.deepEqual(
      log.rows.map((r) => r.action),
      ['rule.create', 'rule.update', 'rule.delete'],
    );
  });
});
