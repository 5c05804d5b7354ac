/**
 * The cross-signal live, over the real services: a cooler whose unit watches the product zone
 * in front of it (`watchZoneId`), two door-open episodes of the same length — the first with a
 * shopper seen in the zone (people events on EVENTS, as a camera actor publishes them), the
 * second with nobody there. `door_open` (the positive control) fires on both; `unattended_door`
 * fires on the second only, and resolves when the door closes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ActorNode } from '../../actors/mod.ts';
import type { RunningServer } from '../../gateway/mod.ts';
import { createClickHouse, type ApiDoorEpisodes, type PeopleEvent, type Pool } from '../../schemas/mod.ts';
import { publishEvent, publishReading } from '../../streams/mod.ts';
import { startLiveUnit } from '../helpers/live-unit.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'cooler-password-123';
const OPEN_S = 3;
let node: ActorNode;
let server: RunningServer;
const fx = natsNamespace('unattended-door', {
  beforeDelete: async () => {
    await server?.close();
    await node?.stop();
  },
});
let admin: Pool;
let tenantId: string;
let siteId: string;
let equipmentId: string;
let email: string;
let token: string;
let cameraId: string;
let zoneId: string;
/** The two episodes of the live test, for the history test after it. */
const episodes: Array<{ opened: number; closed: number }> = [];

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** Camera and zones come in as the cameras API would write them (no decoder is needed here). */
async function cameraWithZone(site: string, name: string): Promise<{ camera: string; zone: string }> {
  const cam = await admin.query<{ id: string }>(
    `INSERT INTO cameras (tenant_id, site_id, name, source_url, enabled) VALUES ($1, $2, $3, '/nonexistent.mp4', false) RETURNING id`,
    [tenantId, site, name],
  );
  const zone = await admin.query<{ id: string }>(
    `INSERT INTO zones (tenant_id, site_id, camera_id, name, kind, points)
     VALUES ($1, $2, $3, 'cooler front', 'product', '[[0.1,0.1],[0.9,0.1],[0.9,0.9],[0.1,0.9]]') RETURNING id`,
    [tenantId, site, cam.rows[0]!.id],
  );
  return { camera: cam.rows[0]!.id, zone: zone.rows[0]!.id };
}

const people = (type: PeopleEvent['type'], ts: number, trackId: number): PeopleEvent => ({
  id: `${cameraId}:${type}:${trackId}:${ts}`,
  type,
  tenantId,
  siteId,
  ts,
  data: {
    cameraId,
    zoneId,
    entrance: false,
    trackId,
    dwellSeconds: type === 'people.zone_exit' ? 1 : null,
    count: null,
    since: null,
  },
});

const door = (open: boolean) =>
  publishReading(fx.js, fx.names, tenantId, equipmentId, { ts: Date.now(), door: open, temperature: 3 });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The door open for OPEN_S + 2 s with a reading every 500 ms; `during` runs 1 s after it opened. */
async function episode(during?: () => Promise<void>): Promise<{ opened: number; closed: number }> {
  const opened = Date.now();
  await door(true);
  for (let i = 1; i <= (OPEN_S + 2) * 2; i++) {
    await sleep(500);
    if (i === 2) await during?.();
    await door(true);
  }
  await sleep(500);
  const closed = Date.now();
  await door(false);
  return { opened, closed };
}

interface AlertRow {
  rule_key: string;
  status: string;
  opened_at: Date;
  resolved_at: Date | null;
  message: string;
}

const alertsOf = async () =>
  (
    await admin.query<AlertRow>(
      'SELECT rule_key, status, opened_at, resolved_at, message FROM alerts WHERE equipment_id = $1 ORDER BY opened_at, rule_key',
      [equipmentId],
    )
  ).rows;

before(async () => {
  ({ tenantId, siteId, equipmentId, email, admin, node, server } = await startLiveUnit(fx.config, {
    name: 'Cooler Corner',
    slug: 'cooler',
    password: PASSWORD,
    rules: [
      ['door_alone', 'unattended_door', { levels: [{ severity: 'warning', after_s: OPEN_S }] }],
      ['door_long', 'door_open', { levels: [{ severity: 'info', after_s: OPEN_S }] }],
    ],
  }));
  const login = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  token = ((await login.json()) as { accessToken: string }).accessToken;
  ({ camera: cameraId, zone: zoneId } = await cameraWithZone(siteId, 'Cooler cam'));
});

after(async () => {
  if (tenantId) {
    await admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [tenantId]);
    await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  }
  await admin?.end();
});

test('a unit watches a zone of its own site only; the API shows what it watches', async () => {
  const site2 = await admin.query<{ id: string }>(
    "INSERT INTO sites (tenant_id, name) VALUES ($1, 'Other store') RETURNING id",
    [tenantId],
  );
  const elsewhere = await cameraWithZone(site2.rows[0]!.id, 'Other cam');
  const refused = await call('PATCH', `/v1/equipment/${equipmentId}`, { watchZoneId: elsewhere.zone });
  assert.equal(refused.status, 400);
  assert.equal((refused.body['error'] as { code: string }).code, 'VALIDATION_FAILED');
  const unknown = await call('PATCH', `/v1/equipment/${equipmentId}`, { watchZoneId: randomUUID() });
  assert.equal(unknown.status, 400);
  const linked = await call('PATCH', `/v1/equipment/${equipmentId}`, { watchZoneId: zoneId });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  assert.equal(linked.body['watchZoneId'], zoneId);
  assert.equal((await call('GET', `/v1/equipment/${equipmentId}`)).body['watchZoneId'], zoneId);
});

test('the attended episode raises only door_open; the unattended one raises unattended_door too', async () => {
  await door(false);
  const attended = await episode(async () => {
    const t = Date.now();
    await publishEvent(fx.js, fx.names, people('people.zone_entry', t - 400, 7));
    await publishEvent(fx.js, fx.names, people('people.zone_exit', t, 7));
  });
  await sleep(1000);
  const unattended = await episode();
  episodes.push(attended, unattended);
  const rows = await waitFor(
    'both episodes closed and stored',
    async () => {
      const r = await alertsOf();
      return r.length === 3 && r.every((a) => a.status === 'resolved') && r;
    },
    30_000,
  );
  const within = (t: Date, from: number, to: number) => t.getTime() >= from && t.getTime() <= to;
  const long = rows.filter((a) => a.rule_key === 'door_long');
  assert.equal(long.length, 2, 'door_open fires on both episodes (the positive control)');
  assert.ok(within(long[0]!.opened_at, attended.opened, attended.closed));
  assert.ok(within(long[1]!.opened_at, unattended.opened, unattended.closed));
  const alone = rows.filter((a) => a.rule_key === 'door_alone');
  assert.equal(alone.length, 1, JSON.stringify(rows));
  assert.ok(within(alone[0]!.opened_at, unattended.opened, unattended.closed), 'only the unattended episode');
  assert.ok(
    within(alone[0]!.resolved_at!, unattended.closed - 1000, unattended.closed + 1000),
    'resolved at closing',
  );
  assert.match(alone[0]!.message, /nobody at the unit|back to normal/);
});

test('over history, the same two episodes come back labelled attended and unattended, counted per day', async () => {
  assert.equal(episodes.length, 2, 'runs after the live test');
  // The actor node's people sink stores the shopper's events from EVENTS in ClickHouse.
  const ch = createClickHouse(fx.config);
  try {
    await waitFor('the shopper stored by the people sink', async () => {
      const rs = await ch.query({
        query: `SELECT count() AS n FROM people_events FINAL WHERE zone_id = '${zoneId}'`,
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ n: string }>())[0]!.n) === 2;
    });
  } finally {
    await ch.close();
  }
  const from = new Date(episodes[0]!.opened - 60_000).toISOString();
  const to = new Date(episodes[1]!.closed + 60_000).toISOString();
  await waitFor('door readings stored', async () => {
    const r = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE equipment_id = $1 AND door = false',
      [equipmentId],
    );
    // The closing reading before the first episode and the closing reading of each episode.
    return r.rows[0]!.n >= 3;
  });
  const res = await call('GET', `/v1/equipment/${equipmentId}/door-episodes?from=${from}&to=${to}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const report = res.body as unknown as ApiDoorEpisodes;
  assert.equal(report.watchZoneId, zoneId);
  assert.deepEqual(
    report.episodes.map((e) => [e.attended, e.stillOpen]),
    [
      [true, false],
      [false, false],
    ],
  );
  for (const [i, e] of report.episodes.entries()) {
    assert.ok(
      Math.abs(Date.parse(e.openedAt) - episodes[i]!.opened) < 1000,
      'opened at its first open reading',
    );
    assert.ok(
      Math.abs(Date.parse(e.closedAt) - episodes[i]!.closed) < 1000,
      'closed at its first closed reading',
    );
  }
  assert.deepEqual(
    report.days
      .map((d) => [d.episodes, d.attended, d.unattended])
      .reduce((a, d) => [a[0]! + d[0]!, a[1]! + d[1]!, a[2]! + d[2]!], [0, 0, 0]),
    [2, 1, 1],
  );
  const tooLong = await call(
    'GET',
    `/v1/equipment/${equipmentId}/door-episodes?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z`,
  );
  assert.equal(tooLong.status, 400);
});
