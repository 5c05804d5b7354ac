/**
 * Mis-addressed telemetry (issue 10, finding 1): a reading published to
 * `tele.<tenant A>.<unit of tenant B>`, or to a unit that does not exist, is dead-lettered with
 * its reason by every TELEMETRY consumer — PostgreSQL and ClickHouse store nothing of it — and
 * the real owner's reading with the same timestamp is stored. The sinks' unit registry caches
 * lookups and forgets a unit when `ctl.equipment.changed` announces it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { startActorNode, UnitRegistry, type ActorNode } from '../../actors/mod.ts';
import { chSql, createClickHouse, createLogger, createPool, migrate, type Pool } from '../../schemas/mod.ts';
import { DLQ_HEADERS, publishReading } from '../../streams/mod.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { waitFor } from '../helpers/wait.ts';

const fx = natsNamespace('misaddressed-test', {
  beforeDelete: async () => {
    await node?.stop();
  },
});
const { ns, config, names } = fx;
const log = createLogger(config, 'misaddressed-test');

const tenantA = randomUUID();
const tenantB = randomUUID();
const siteA = randomUUID();
const siteB = randomUUID();
const unitA = randomUUID();
const unitB = randomUUID();
const T = Math.floor((Date.now() - 10 * 60_000) / 1000) * 1000;

let admin: Pool;
let ch: ClickHouseClient;
let node: ActorNode | null = null;

async function settled(): Promise<boolean> {
  for await (const c of fx.jsm.consumers.list(names.telemetry.stream)) {
    if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
  }
  return true;
}

async function dlqBySeq(): Promise<Map<number, { code: string; reason: string; consumer: string }>> {
  const info = await fx.jsm.streams.info(names.dlq.stream);
  const out = new Map<number, { code: string; reason: string; consumer: string }>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await fx.jsm.streams.getMessage(names.dlq.stream, { seq }).catch(() => null);
    if (!m?.header) continue;
    out.set(Number(m.header.get(DLQ_HEADERS.seq)), {
      code: m.header.get(DLQ_HEADERS.code),
      reason: m.header.get(DLQ_HEADERS.reason),
      consumer: m.header.get(DLQ_HEADERS.consumer),
    });
  }
  return out;
}

before(async () => {
  await migrate(config);
  admin = createPool(config, 'admin', 2);
  ch = createClickHouse(config);
  for (const [tenant, site, unit, slug] of [
    [tenantA, siteA, unitA, `a-${ns}`],
    [tenantB, siteB, unitB, `b-${ns}`],
  ] as const) {
    await admin.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $2)', [tenant, slug]);
    await admin.query('INSERT INTO sites (id, tenant_id, name) VALUES ($1, $2, $3)', [site, tenant, 'Site']);
    await admin.query(
      `INSERT INTO equipment (id, tenant_id, site_id, name, kind) VALUES ($1, $2, $3, 'Unit', 'chiller')`,
      [unit, tenant, site],
    );
  }
  node = await startActorNode({ config, log, nodeID: `${ns}-a`, notifierTenants: [tenantA, tenantB] });
});

after(async () => {
  if (admin) {
    await admin.query('DELETE FROM telemetry WHERE tenant_id = ANY($1::uuid[])', [[tenantA, tenantB]]);
    await admin.query('DELETE FROM tenants WHERE id = ANY($1::uuid[])', [[tenantA, tenantB]]);
    await admin.end();
  }
  if (ch) {
    for (const t of [tenantA, tenantB])
      await ch.command({ query: chSql`ALTER TABLE telemetry DELETE WHERE tenant_id = ${t}` });
    await ch.close();
  }
});

describe('mis-addressed telemetry', () => {
  test('a reading for another tenant’s unit or a missing unit is dead-lettered by every consumer; the owner’s reading is stored', async () => {
    const stranger = randomUUID();
    const crossed = await publishReading(fx.js, names, tenantA, unitB, { ts: T, temperature: 99 });
    const missing = await publishReading(fx.js, names, tenantA, stranger, { ts: T, temperature: 98 });
    // The real owner reports the same instant right after the rejection: a miss remembered for
    // the mis-addressed reading must not make the owner's unit look unknown.
    await waitFor('bad readings dead-lettered', async () => (await dlqBySeq()).size === 2);
    await publishReading(fx.js, names, tenantB, unitB, { ts: T, temperature: 4 });
    await publishReading(fx.js, names, tenantA, unitA, { ts: T, temperature: 3 });

    const pg = await waitFor('owner readings in PostgreSQL', async () => {
      const r = await admin.query<{ tenant_id: string; equipment_id: string; temperature: number }>(
        'SELECT tenant_id, equipment_id, temperature FROM telemetry WHERE ts = $1 AND equipment_id = ANY($2::uuid[]) ORDER BY temperature',
        [new Date(T), [unitA, unitB, stranger]],
      );
      return r.rows.length === 2 && (await settled()) ? r.rows : undefined;
    });
    assert.deepEqual(pg, [
      { tenant_id: tenantA, equipment_id: unitA, temperature: 3 },
      { tenant_id: tenantB, equipment_id: unitB, temperature: 4 },
    ]);

    const chRows = await waitFor('owner readings in ClickHouse', async () => {
      const rs = await ch.query({
        query: chSql`SELECT tenant_id, equipment_id, temperature FROM telemetry FINAL
                      WHERE ts_ms = ${T} AND tenant_id IN (${tenantA}, ${tenantB}) ORDER BY temperature`,
        format: 'JSONEachRow',
      });
      const rows = await rs.json<{ tenant_id: string; equipment_id: string; temperature: number }>();
      return rows.length >= 2 ? rows : undefined;
    });
    assert.deepEqual(chRows, [
      { tenant_id: tenantA, equipment_id: unitA, temperature: 3 },
      { tenant_id: tenantB, equipment_id: unitB, temperature: 4 },
    ]);

    const dlq = await dlqBySeq();
    assert.equal(dlq.size, 2);
    assert.equal(dlq.get(crossed.seq)?.code, 'UNKNOWN_EQUIPMENT');
    assert.equal(dlq.get(crossed.seq)?.reason, `equipment ${unitB} of tenant ${tenantA} does not exist`);
    assert.equal(dlq.get(missing.seq)?.code, 'UNKNOWN_EQUIPMENT');
    assert.equal(dlq.get(missing.seq)?.reason, `equipment ${stranger} of tenant ${tenantA} does not exist`);

    // Every consumer reached the same verdict: each counted its rejections.
    const health = await node!.health();
    assert.equal(health['telemetry-pg']?.consumer.rejected, 2);
    assert.equal((health['telemetry-ch'] as { consumer: { rejected: number } }).consumer.rejected, 2);
  });
});

describe('the sinks’ unit registry', () => {
  test('answers from its cache, and forgets a unit announced on ctl.equipment.changed', async () => {
    const registry = new UnitRegistry(admin, { hitTtlMs: 3_600_000, missTtlMs: 3_600_000 });
    const unfollow = registry.follow(fx.nc, names, log);
    try {
      const fresh = randomUUID();
      const first = await registry.units([unitA, unitB, fresh]);
      assert.deepEqual(first.get(unitA), { tenantId: tenantA, decommissioned: false });
      assert.equal(first.get(fresh), null);
      assert.equal(registry.lookups, 1);
      await registry.units([unitA, unitB, fresh]);
      assert.equal(registry.lookups, 1, 'hits and misses both cached');

      // A unit created a moment ago: the miss is forgotten as soon as its creation is announced.
      await admin.query(
        `INSERT INTO equipment (id, tenant_id, site_id, name, kind) VALUES ($1, $2, $3, 'New', 'chiller')`,
        [fresh, tenantA, siteA],
      );
      fx.nc.publish(
        names.ctl.equipmentChanged,
        JSON.stringify({ tenantId: tenantA, equipmentId: fresh, action: 'created' }),
      );
      await fx.nc.flush();
      const created = await waitFor('creation seen', async () => {
        const u = (await registry.units([fresh])).get(fresh);
        return u ?? undefined;
      });
      assert.deepEqual(created, { tenantId: tenantA, decommissioned: false });

      // Decommissioned: the cached unit is forgotten and the next answer says so.
      await admin.query('UPDATE equipment SET decommissioned_at = now() WHERE id = $1', [fresh]);
      fx.nc.publish(
        names.ctl.equipmentChanged,
        JSON.stringify({ tenantId: tenantA, equipmentId: fresh, action: 'decommissioned' }),
      );
      await fx.nc.flush();
      const gone = await waitFor('decommissioning seen', async () => {
        const u = (await registry.units([fresh])).get(fresh);
        return u?.decommissioned ? u : undefined;
      });
      assert.deepEqual(gone, { tenantId: tenantA, decommissioned: true });
    } finally {
      unfollow();
    }
  });

  test('a lookup overtaken by an eviction is answered but not cached', async () => {
    const registry = new UnitRegistry(admin, { hitTtlMs: 3_600_000 });
    const pending = registry.units([unitA]);
    registry.evict(unitA);
    assert.deepEqual((await pending).get(unitA), { tenantId: tenantA, decommissioned: false });
    await registry.units([unitA]);
    assert.equal(registry.lookups, 2);
  });
});
