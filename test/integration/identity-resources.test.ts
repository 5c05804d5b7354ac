/**
 * The management resources end to end: equipment and API keys, maintenance, alerts, rules
 * (with the control messages actors listen to), sites, pagination and the audit log.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../../gateway/identity/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';

let fx: ApiFixture;
let W: World;

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The next message on a NATS core subject, or a failure after `ms` (a test must never hang). */
async function nextMessage(subject: string, ms = 3000): Promise<{ take: () => Promise<unknown> }> {
  const sub = fx.deps.nc.subscribe(subject, { max: 1 });
  await fx.deps.nc.flush();
  return {
    take: async () => {
      const timer = setTimeout(() => sub.unsubscribe(), ms);
      try {
        for await (const m of sub) return m.json();
        throw new Error(`no message on ${subject} within ${ms} ms`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function keyWorks(key: string): Promise<boolean> {
  const { rowCount } = await fx.admin.query('SELECT 1 FROM auth_equipment_by_key_hash($1)', [sha256(key)]);
  return rowCount === 1;
}

before(async () => {
  fx = await apiFixture();
  W = await fx.world();
});

after(async () => {
  await fx?.close();
});

describe('equipment and API keys', () => {
  test('the key is shown once, stored hashed, and rotation revokes the old one', async () => {
    const t = W.admin.token;
    const created = await fx.call(t, 'POST', '/v1/equipment', {
      siteId: W.sites[1],
      name: 'Cold room',
      kind: 'cold_room',
    });
    assert.equal(created.statusCode, 201);
    const { equipment, apiKey } = created.json<{
      equipment: { id: string; apiKeyPrefix: string };
      apiKey: { apiKey: string; prefix: string };
    }>();
    assert.match(apiKey.apiKey, /^vk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(equipment.apiKeyPrefix, apiKey.prefix);
    assert.ok(await keyWorks(apiKey.apiKey));
    const read = await fx.call(t, 'GET', `/v1/equipment/${equipment.id}`);
    assert.ok(!read.body.includes(apiKey.apiKey.slice(20)), 'the key is never shown again');

    const rotated = await fx.call(t, 'POST', `/v1/equipment/${equipment.id}/api-key`);
    assert.equal(rotated.statusCode, 201);
    const next = rotated.json<{ apiKey: string; prefix: string }>();
    assert.notEqual(next.apiKey, apiKey.apiKey);
    assert.equal(await keyWorks(apiKey.apiKey), false, 'the old key is revoked');
    assert.ok(await keyWorks(next.apiKey));
    const telemetry = await fx.call(
      null,
      'POST',
      '/v1/telemetry',
      { temperature: -18 },
      { 'x-api-key': apiKey.apiKey },
    );
    assert.equal(telemetry.statusCode, 401);

    const log = await fx.call(t, 'GET', `/v1/audit-log?targetId=${equipment.id}`);
    assert.deepEqual(
      log.json<Page<{ action: string }>>().items.map((e) => e.action),
      ['equipment.api_key_rotate', 'equipment.api_key_issue', 'equipment.create'],
    );
  });

  test('decommissioning revokes the key and freezes the unit; the site cannot be deleted while it has units', async () => {
    const t = W.admin.token;
    const site = (
      await fx.call(t, 'POST', '/v1/sites', {
        name: `tmp-${randomBytes(3).toString('hex')}`,
        timezone: 'UTC',
      })
    ).json<{ id: string }>();
    const e = (
      await fx.call(t, 'POST', '/v1/equipment', {
        siteId: site.id,
        name: 'Display',
        serial: `SN-${randomUUID()}`,
      })
    ).json<{
      equipment: { id: string };
      apiKey: { apiKey: string };
    }>();
    const off = await fx.call(t, 'POST', `/v1/equipment/${e.equipment.id}/decommission`);
    assert.equal(off.statusCode, 200);
    assert.ok(off.json<{ decommissionedAt: string | null }>().decommissionedAt);
    assert.equal(await keyWorks(e.apiKey.apiKey), false);
    assert.equal(
      (await fx.call(t, 'PATCH', `/v1/equipment/${e.equipment.id}`, { name: 'x' })).statusCode,
      409,
    );
    assert.equal((await fx.call(t, 'POST', `/v1/equipment/${e.equipment.id}/api-key`)).statusCode, 409);
    assert.equal((await fx.call(t, 'POST', `/v1/equipment/${e.equipment.id}/decommission`)).statusCode, 409);
    const listed = await fx.call(t, 'GET', `/v1/equipment?siteId=${site.id}&decommissioned=true`);
    assert.deepEqual(
      listed.json<Page<{ id: string }>>().items.map((i) => i.id),
      [e.equipment.id],
    );
    assert.equal((await fx.call(t, 'DELETE', `/v1/sites/${site.id}`)).statusCode, 409);
    const empty = (
      await fx.call(t, 'POST', '/v1/sites', {
        name: `empty-${randomBytes(3).toString('hex')}`,
        timezone: 'UTC',
      })
    ).json<{ id: string }>();
    assert.equal((await fx.call(t, 'DELETE', `/v1/sites/${empty.id}`)).statusCode, 204);
    assert.equal((await fx.call(t, 'GET', `/v1/sites/${empty.id}`)).statusCode, 404);
  });

  test('a duplicate serial is a conflict', async () => {
    const serial = `SN-${randomUUID()}`;
    const body = { siteId: W.sites[0], name: 'x', serial };
    assert.equal((await fx.call(W.admin.token, 'POST', '/v1/equipment', body)).statusCode, 201);
    const dup = await fx.call(W.admin.token, 'POST', '/v1/equipment', body);
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json<{ error: { code: string } }>().error.code, 'CONFLICT');
  });
});

describe('maintenance records', () => {
  test('operators record, correct and list them; admins delete them; windows reach the alert engine', async () => {
    const changed = await nextMessage(`${fx.deps.names.ns}.ctl.maintenance.changed`);
    const start = new Date(Date.now() + 3600_000).toISOString();
    const end = new Date(Date.now() + 7200_000).toISOString();
    const res = await fx.call(W.operator.token, 'POST', '/v1/maintenance', {
      equipmentId: W.equipment[0],
      kind: 'preventive',
      description: 'coil cleaning',
      technician: 'Mehmet',
      performedAt: new Date().toISOString(),
      nextDue: new Date(Date.now() + 90 * 86_400_000).toISOString(),
      windowStart: start,
      windowEnd: end,
    });
    assert.equal(res.statusCode, 201, res.body);
    const rec = res.json<{ id: string; siteId: string; windowStart: string; createdBy: string }>();
    assert.equal(rec.siteId, W.sites[0]);
    assert.equal(rec.windowStart, start);
    assert.equal(rec.createdBy, W.operator.id);
    assert.deepEqual(await changed.take(), { tenantId: W.tenantId, equipmentId: W.equipment[0] });

    const patched = await fx.call(W.operator.token, 'PATCH', `/v1/maintenance/${rec.id}`, {
      technician: 'Mehmet Y.',
    });
    assert.equal(patched.json<{ technician: string }>().technician, 'Mehmet Y.');
    const list = await fx.call(
      W.viewer.token,
      'GET',
      `/v1/maintenance?equipmentId=${W.equipment[0]}&kind=preventive`,
    );
    assert.deepEqual(
      list.json<Page<{ id: string }>>().items.map((i) => i.id),
      [rec.id],
    );
    const due = await fx.call(
      W.viewer.token,
      'GET',
      `/v1/maintenance?dueBefore=${encodeURIComponent(new Date(Date.now() + 100 * 86_400_000).toISOString())}`,
    );
    assert.ok(due.json<Page<{ id: string }>>().items.some((i) => i.id === rec.id));
    assert.equal((await fx.call(W.operator.token, 'DELETE', `/v1/maintenance/${rec.id}`)).statusCode, 403);
    assert.equal((await fx.call(W.admin.token, 'DELETE', `/v1/maintenance/${rec.id}`)).statusCode, 204);
    assert.equal((await fx.call(W.admin.token, 'GET', `/v1/maintenance/${rec.id}`)).statusCode, 404);
  });
});

describe('alerts', () => {
  async function alert(
    opts: { latched?: boolean; cleared?: boolean; siteIdx?: 0 | 1 } = {},
  ): Promise<string> {
    const id = randomUUID();
    const i = opts.siteIdx ?? 0;
    await fx.admin.query(
      `INSERT INTO alerts (id, tenant_id, site_id, equipment_id, rule_key, severity, opened_at, latched, cleared_at)
       VALUES ($1, $2, $3, $4, $5, 'warning', now(), $6, CASE WHEN $7 THEN now() END)`,
      [
        id,
        W.tenantId,
        W.sites[i],
        W.equipment[i],
        `k_${randomBytes(4).toString('hex')}`,
        opts.latched ?? false,
        opts.cleared ?? false,
      ],
    );
    return id;
  }

  test('acknowledging a latched alert whose condition cleared closes it and tells the actor', async () => {
    const id = await alert({ latched: true, cleared: true });
    const closed = await nextMessage(fx.deps.names.ctl.alertClosed);
    const res = await fx.call(W.operator.token, 'POST', `/v1/alerts/${id}/ack`, {});
    assert.equal(res.statusCode, 200);
    const body = res.json<{ status: string; resolvedBy: string; acknowledgedBy: string }>();
    assert.deepEqual(
      [body.status, body.resolvedBy, body.acknowledgedBy],
      ['resolved', W.operator.id, W.operator.id],
    );
    const msg = (await closed.take()) as { alertId: string; tenantId: string; equipmentId: string };
    assert.deepEqual([msg.alertId, msg.tenantId, msg.equipmentId], [id, W.tenantId, W.equipment[0]]);
  });

  test('a latched alert still in breach stays open when acknowledged; resolving it needs a note', async () => {
    const id = await alert({ latched: true });
    assert.equal(
      (await fx.call(W.operator.token, 'POST', `/v1/alerts/${id}/ack`, {})).json<{ status: string }>().status,
      'acknowledged',
    );
    const snoozed = await fx.call(W.operator.token, 'POST', `/v1/alerts/${id}/snooze`, {
      minutes: 30,
      note: 'tech on the way',
    });
    assert.equal(snoozed.statusCode, 200);
    const until = Date.parse(snoozed.json<{ snoozedUntil: string }>().snoozedUntil);
    assert.ok(Math.abs(until - (Date.now() + 30 * 60_000)) < 60_000);
    const resolved = await fx.call(W.operator.token, 'POST', `/v1/alerts/${id}/resolve`, {
      note: 'refrigerant topped up',
    });
    assert.equal(resolved.json<{ status: string; note: string }>().note, 'refrigerant topped up');
    assert.equal(
      (await fx.call(W.operator.token, 'POST', `/v1/alerts/${id}/snooze`, { minutes: 5 })).statusCode,
      409,
    );
    const timeline = await fx.call(W.viewer.token, 'GET', `/v1/alerts/${id}/timeline?limit=2`);
    const first = timeline.json<Page<{ action: string; actorId: string }>>();
    assert.deepEqual(
      first.items.map((e) => e.action),
      ['acknowledged', 'snoozed'],
    );
    const rest = await fx.call(
      W.viewer.token,
      'GET',
      `/v1/alerts/${id}/timeline?limit=2&cursor=${first.nextCursor}`,
    );
    assert.deepEqual(
      rest.json<Page<{ action: string }>>().items.map((e) => e.action),
      ['resolved'],
    );
  });

  test('lists filter by status, site, equipment and severity', async () => {
    const a = await alert({ siteIdx: 1 });
    const open = await fx.call(
      W.viewer.token,
      'GET',
      `/v1/alerts?status=open&siteId=${W.sites[1]}&equipmentId=${W.equipment[1]}&severity=warning`,
    );
    assert.deepEqual(
      open.json<Page<{ id: string }>>().items.map((i) => i.id),
      [a],
    );
    const resolved = await fx.call(W.viewer.token, 'GET', `/v1/alerts?status=resolved&siteId=${W.sites[1]}`);
    assert.equal(resolved.json<Page<unknown>>().items.length, 0);
  });
});

describe('alert rules', () => {
  test('changes are validated, audited and announced to the actors', async () => {
    const t = W.admin.token;
    const params = {
      metric: 'temperature',
      op: '>',
      levels: [{ severity: 'warning', value: -12 }],
      for_s: 120,
      clear: { for_s: 60 },
    };
    let changed = await nextMessage(fx.deps.names.ctl.rulesChanged);
    const created = await fx.call(t, 'POST', '/v1/alert-rules', {
      key: 'warm_unit',
      kind: 'threshold',
      params,
      equipmentId: W.equipment[0],
      latched: true,
    });
    assert.equal(created.statusCode, 201, created.body);
    const rule = created.json<{ id: string; scope: string; params: unknown; latched: boolean }>();
    assert.equal(rule.scope, 'equipment');
    assert.deepEqual(rule.params, params);
    assert.deepEqual(await changed.take(), { tenantId: W.tenantId });

    changed = await nextMessage(fx.deps.names.ctl.rulesChanged);
    const off = await fx.call(t, 'PATCH', `/v1/alert-rules/${rule.id}`, {
      enabled: false,
      params: { ...params, for_s: 300 },
    });
    assert.equal(off.statusCode, 200);
    assert.equal(off.json<{ enabled: boolean }>().enabled, false);
    assert.deepEqual(await changed.take(), { tenantId: W.tenantId });

    const dup = await fx.call(t, 'POST', '/v1/alert-rules', {
      key: 'warm_unit',
      kind: 'threshold',
      params,
      equipmentId: W.equipment[0],
    });
    assert.equal(dup.statusCode, 409);
    const list = await fx.call(
      W.viewer.token,
      'GET',
      `/v1/alert-rules?scope=equipment&equipmentId=${W.equipment[0]}`,
    );
    assert.deepEqual(
      list.json<Page<{ id: string }>>().items.map((r) => r.id),
      [rule.id],
    );
    assert.equal((await fx.call(t, 'DELETE', `/v1/alert-rules/${rule.id}`)).statusCode, 204);
    const log = await fx.call(t, 'GET', `/v1/audit-log?targetId=${rule.id}`);
    assert.deepEqual(
      log.json<Page<{ action: string }>>().items.map((e) => e.action),
      ['rule.delete', 'rule.update', 'rule.create'],
    );
  });

  test('global rules are readable by every tenant and changeable by none', async () => {
    const g = await fx.admin.query<{ id: string }>(
      `INSERT INTO alert_rules (key, kind, params) VALUES ($1, 'door_open', '{"levels":[{"severity":"warning","after_s":300}]}') RETURNING id`,
      [`g_${randomBytes(4).toString('hex')}`],
    );
    const id = g.rows[0]!.id;
    try {
      const read = await fx.call(W.viewer.token, 'GET', `/v1/alert-rules/${id}`);
      assert.equal(read.json<{ scope: string }>().scope, 'global');
      assert.equal(
        (await fx.call(W.admin.token, 'PATCH', `/v1/alert-rules/${id}`, { enabled: false })).statusCode,
        403,
      );
      assert.equal((await fx.call(W.admin.token, 'DELETE', `/v1/alert-rules/${id}`)).statusCode, 403);
    } finally {
      await fx.admin.query('DELETE FROM alert_rules WHERE id = $1', [id]);
    }
  });
});

describe('pagination', () => {
  test('keyset pages are complete, disjoint and stable under concurrent inserts', async () => {
    const t = W.admin.token;
    const names = Array.from({ length: 7 }, (_, i) => `page-${i}-${randomBytes(3).toString('hex')}`);
    for (const name of names)
      assert.equal((await fx.call(t, 'POST', '/v1/sites', { name, timezone: 'UTC' })).statusCode, 201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { json<T>(): T } = await fx.call(
        t,
        'GET',
        `/v1/sites?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const page = res.json<Page<{ id: string; name: string }>>();
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((s) => s.name));
      cursor = page.nextCursor;
      // A site created mid-way is newer than the cursor: it never shifts later pages.
      if (pages++ === 0)
        await fx.call(t, 'POST', '/v1/sites', {
          name: `late-${randomBytes(3).toString('hex')}`,
          timezone: 'UTC',
        });
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length, 'no site twice');
    for (const name of names) assert.ok(seen.includes(name), name);
    assert.ok(pages >= 3);
  });
});
