import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { startActorNode, type ActorNode } from '../../actors/mod.ts';
import {
  chSql,
  createClickHouse,
  createLogger,
  createPool,
  migrate,
  type AlertEvent,
  type Pool,
} from '../../schemas/mod.ts';
import { DLQ_HEADERS, publishReading, publishRulesChanged } from '../../streams/mod.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * A reading travels end to end: NATS → equipment actor → EVENTS → alerts in PostgreSQL, and
 * TELEMETRY → PostgreSQL + ClickHouse, in a namespace of its own.
 */
const fx = natsNamespace('pipeline-test', {
  beforeDelete: async () => {
    await node?.stop();
  },
});
const { ns, config, names } = fx;
const log = createLogger(config, 'pipeline-test');

const tenantId = randomUUID();
const siteId = randomUUID();
const equipmentId = randomUUID();
const ruleId = randomUUID();
// Device time: a recent past hour, whole seconds (ClickHouse keeps ms in ts_ms).
const T0 = Math.floor((Date.now() - 30 * 60_000) / 1000) * 1000;
const at = (s: number): number => T0 + s * 1000;

let admin: Pool;
let ch: ClickHouseClient;
let node: ActorNode | null = null;

async function send(s: number, temperature: number, msgId?: string): Promise<void> {
  await publishReading(fx.js, names, tenantId, equipmentId, { ts: at(s), temperature }, msgId);
}

/** Every consumer of the namespace has handled (and acked) everything in its stream. */
async function settled(): Promise<boolean> {
  for (const stream of [names.telemetry.stream, names.events.stream]) {
    for await (const c of fx.jsm.consumers.list(stream)) {
      if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
    }
  }
  return true;
}

interface AlertRow {
  id: string;
  status: string;
  severity: string;
  opened_at: Date;
  resolved_at: Date | null;
  message: string;
}

async function alerts(): Promise<AlertRow[]> {
  const r = await admin.query<AlertRow>(
    'SELECT id, status, severity, opened_at, resolved_at, message FROM alerts WHERE equipment_id = $1 ORDER BY opened_at',
    [equipmentId],
  );
  return r.rows;
}

async function timeline(alertId: string): Promise<string[]> {
  const r = await admin.query<{ action: string }>(
    'SELECT action FROM alert_timeline WHERE alert_id = $1 ORDER BY at, id',
    [alertId],
  );
  return r.rows.map((x) => x.action);
}

async function streamMessages(
  stream: string,
): Promise<Array<{ subject: string; headers: Map<string, string>; body: string }>> {
  const info = await fx.jsm.streams.info(stream);
  const out: Array<{ subject: string; headers: Map<string, string>; body: string }> = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await fx.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    const headers = new Map<string, string>();
    if (m.header) for (const [k] of m.header) headers.set(k, m.header.get(k));
    out.push({ subject: m.subject, headers, body: Buffer.from(m.data).toString('utf8') });
  }
  return out;
}

async function alertEvents(): Promise<AlertEvent[]> {
  return (await streamMessages(names.events.stream)).map((m) => JSON.parse(m.body) as AlertEvent);
}

async function pgRows(s: number): Promise<number> {
  const r = await admin.query<{ n: number }>(
    'SELECT count(*) AS n FROM telemetry WHERE equipment_id = $1 AND ts = $2',
    [equipmentId, new Date(at(s))],
  );
  return r.rows[0]!.n;
}

async function chRows(s: number): Promise<number> {
  const rs = await ch.query({
    query: chSql`SELECT count() AS n FROM telemetry FINAL WHERE equipment_id = ${equipmentId} AND ts_ms = ${at(s)}`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

before(async () => {
  await migrate(config);
  admin = createPool(config, 'admin', 2);
  ch = createClickHouse(config);
  await admin.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [
    tenantId,
    'Pipeline test',
    `p-${ns}`,
  ]);
  await admin.query('INSERT INTO sites (id, tenant_id, name) VALUES ($1, $2, $3)', [
    siteId,
    tenantId,
    'Branch 1',
  ]);
  await admin.query(
    'INSERT INTO equipment (id, tenant_id, site_id, name, kind, setpoint) VALUES ($1, $2, $3, $4, $5, $6)',
    [equipmentId, tenantId, siteId, 'Chiller 1', 'chiller', 3],
  );
  await admin.query(
    `INSERT INTO alert_rules (id, tenant_id, key, kind, name, params) VALUES ($1, $2, 'high_temp', 'threshold', 'High temperature', $3)`,
    [
      ruleId,
      tenantId,
      JSON.stringify({
        metric: 'temperature',
        op: '>',
        levels: [
          { severity: 'critical', value: 8 },
          { severity: 'warning', value: 5 },
        ],
        for_s: 60,
        clear: { value: 4, for_s: 60 },
      }),
    ],
  );
  node = await startActorNode({ config, log, nodeID: `${ns}-a`, notifierTenants: [tenantId] });
});

after(async () => {
  if (admin) {
    await admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [tenantId]);
    await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
    await admin.end();
  }
  await ch?.close();
});

describe('a reading travels end to end', () => {
  test('a breach held for for_s opens an active alert and publishes alert.opened', async () => {
    await send(0, 3);
    await send(30, 9);
    await send(60, 9.5);
    await send(90, 9.2);
    const [alert, ...others] = await waitFor('active alert', async () => {
      const rows = await alerts();
      return rows.length ? rows : undefined;
    });
    assert.equal(others.length, 0);
    assert.equal(alert!.status, 'active');
    assert.equal(alert!.severity, 'critical');
    assert.equal(alert!.opened_at.getTime(), at(90));
    assert.equal(alert!.message, 'temperature 9.2 > 8 for 60s');

    const events = await waitFor('alert event', async () => {
      const all = (await streamMessages(names.events.stream)).filter((m) =>
        m.body.includes('"alert.opened"'),
      );
      return all.length ? all : undefined;
    });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.subject, `${ns}.evt.${tenantId}.${siteId}.alert.${equipmentId}`);
    const opened = JSON.parse(events[0]!.body) as AlertEvent;
    assert.equal(opened.data.alertId, alert!.id);
    assert.equal(opened.data.ruleId, ruleId);
    assert.equal(opened.ts, at(90));
  });

  test('the same reading published twice is stored once in PostgreSQL and once in ClickHouse', async () => {
    await send(120, 6, `dup-a-${ns}`);
    await send(120, 6, `dup-b-${ns}`);
    await waitFor('consumers settled', async () => (await pgRows(120)) === 1 && settled());
    assert.equal(await pgRows(120), 1);
    assert.equal(
      await waitFor('ClickHouse row', async () => ((await chRows(120)) > 0 ? chRows(120) : undefined)),
      1,
    );
    // The actor saw it once too: one severity update, not two.
    const [alert] = await alerts();
    assert.equal(alert!.severity, 'warning');
    assert.deepEqual(await timeline(alert!.id), ['opened', 'updated']);
  });

  test('a malformed reading goes to the DLQ once, with its reason; the next good one is processed', async () => {
    const bad = new TextEncoder().encode('{"temperature":"warm"}');
    const ack = await publishReading(fx.js, names, tenantId, equipmentId, bad);
    const stranger = randomUUID();
    await publishReading(fx.js, names, tenantId, stranger, { ts: at(140), temperature: 2 });
    const retired = randomUUID();
    await admin.query(
      `INSERT INTO equipment (id, tenant_id, site_id, name, decommissioned_at) VALUES ($1, $2, $3, 'Old freezer', now())`,
      [retired, tenantId, siteId],
    );
    await publishReading(fx.js, names, tenantId, retired, { ts: at(145), temperature: 2 });
    await send(150, 6.5);
    await waitFor(
      'good reading stored and everything settled',
      async () => (await pgRows(150)) === 1 && settled(),
    );

    const dlq = await streamMessages(names.dlq.stream);
    const malformed = dlq.filter((m) => m.headers.get(DLQ_HEADERS.seq) === String(ack.seq));
    assert.equal(malformed.length, 1, 'three consumers rejected it; one entry');
    assert.equal(malformed[0]!.subject, `${ns}.dlq.telemetry`);
    assert.equal(malformed[0]!.body, '{"temperature":"warm"}');
    assert.equal(malformed[0]!.headers.get(DLQ_HEADERS.code), 'VALIDATION_FAILED');
    assert.match(malformed[0]!.headers.get(DLQ_HEADERS.reason) ?? '', /\/temperature/);
    assert.equal(malformed[0]!.headers.get(DLQ_HEADERS.stream), names.telemetry.stream);

    const unknown = dlq.filter((m) => m.headers.get(DLQ_HEADERS.code) === 'UNKNOWN_EQUIPMENT');
    // Different units, maybe different partitions: their order in the DLQ is not defined.
    // Every TELEMETRY consumer rejects them with the same reason; the first one's entry stays.
    assert.deepEqual(
      unknown.map((m) => m.headers.get(DLQ_HEADERS.reason)).sort(),
      [
        `equipment ${retired} is decommissioned`,
        `equipment ${stranger} of tenant ${tenantId} does not exist`,
      ].sort(),
    );
    for (const m of unknown)
      assert.ok(
        ['equipment', 'telemetry_pg', 'telemetry_ch'].includes(m.headers.get(DLQ_HEADERS.consumer) ?? ''),
      );
    assert.equal(dlq.length, 3);
  });

  test('a node restarted mid-stream restores its actors from snapshots: no duplicate alert', async () => {
    await send(180, 9);
    await node!.stop();
    node = null;
    // While no node runs: the unit recovers (clear threshold 4 from t=210).
    await send(210, 3);
    await send(240, 3);
    node = await startActorNode({ config, log, nodeID: `${ns}-b`, notifierTenants: [tenantId] });
    await send(270, 3);
    const [alert, ...others] = await waitFor('alert resolved', async () => {
      const rows = await alerts();
      return rows[0]?.status === 'resolved' ? rows : undefined;
    });
    assert.equal(others.length, 0, 'the restored actor continued the same alert');
    assert.equal(alert!.resolved_at?.getTime(), at(270));
    assert.equal(alert!.severity, 'critical');
    assert.deepEqual(await timeline(alert!.id), ['opened', 'updated', 'updated', 'resolved']);
    const health = await waitFor('maintenance ran on the new node', async () => {
      const h = await node!.health();
      return h['telemetry-pg']?.maintenance.lastRunAt ? h : undefined;
    });
    assert.equal(health.equipment?.partitions.length, config.VIGIL_PARTITIONS);
    assert.ok(health.equipment?.partitions.every((p) => p.phase === 'serving'));
    const maintenance = health['telemetry-pg']!.maintenance;
    assert.equal(maintenance.lastError, null);
    assert.equal(maintenance.healthy, true);
    assert.ok(['native', 'timescaledb'].includes(String(maintenance.lastResult?.['mode'])));
  });

  test('after resolution a new breach opens a new alert; a disabled rule resolves it live', async () => {
    await send(300, 9);
    await send(360, 9);
    const rows = await waitFor('second alert', async () => {
      const r = await alerts();
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => r.status),
      ['resolved', 'active'],
    );
    assert.equal(rows[1]!.opened_at.getTime(), at(360));

    await admin.query('UPDATE alert_rules SET enabled = false WHERE id = $1', [ruleId]);
    await publishRulesChanged(fx.nc, names, tenantId);
    const resolved = await waitFor('resolved by the rule change', async () => {
      const r = (await alerts())[1];
      return r?.status === 'resolved' ? r : undefined;
    });
    assert.equal(resolved.message, 'rule removed or disabled');
    const types = (await alertEvents()).map((e) => e.type);
    assert.deepEqual(types, [
      'alert.opened',
      'alert.updated',
      'alert.updated',
      'alert.resolved',
      'alert.opened',
      'alert.resolved',
    ]);
  });
});

describe('partitions move between nodes', () => {
  test('a second node takes over some partitions, and hands them back when it leaves', async () => {
    const first = node!;
    const owned = async (n: ActorNode): Promise<number[]> =>
      ((await n.health()).equipment?.partitions ?? [])
        .filter((p) => p.phase === 'serving')
        .map((p) => p.partition);
    const second = await startActorNode({ config, log, nodeID: `${ns}-c`, services: ['equipment'] });
    try {
      const [mine, theirs] = await waitFor('partitions split between the two nodes', async () => {
        const [a, b] = [await owned(first), await owned(second)];
        return b.length > 0 && a.length + b.length === config.VIGIL_PARTITIONS ? [a, b] : undefined;
      });
      assert.deepEqual(
        [...mine, ...theirs].sort((x, y) => x - y),
        Array.from({ length: config.VIGIL_PARTITIONS }, (_, p) => p),
        'every partition served by exactly one node',
      );
    } finally {
      await second.stop();
    }
    const back = await waitFor('first node serves everything again', async () => {
      const a = await owned(first);
      return a.length === config.VIGIL_PARTITIONS ? a : undefined;
    });
    assert.equal(back.length, config.VIGIL_PARTITIONS);
  });
});
