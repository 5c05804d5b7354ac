/**
 * Telemetry reads over REST: the fleet board, a unit's history (paginated) and its hourly
 * rollups — all through the tenant-filtered views, never the table.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiFixture, json, type ApiFixture, type World } from '../helpers/app.ts';
import { refreshRollups } from '../helpers/telemetry.ts';

let fx: ApiFixture;
let A: World;
let B: World;
const HOUR = 3_600_000;
const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface FleetUnit {
  id: string;
  siteId: string;
  lastReading: { ts: string; temperature: number; door: boolean } | null;
  openAlerts: number;
  worstSeverity: string | null;
}

before(async () => {
  fx = await apiFixture();
  [A, B] = [await fx.world(), await fx.world()];
  // Unit 1 of A: 7 readings over two hours; unit 2 of A: none. B's unit: one, warmer.
  for (let i = 0; i < 7; i++) {
    await fx.admin.query(
      `INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature, door, compressor) VALUES ($1, $2, $3, $4, $5, $6)`,
      [A.tenantId, A.equipment[0], new Date(base + i * 20 * 60_000), -18 + i, i === 6, i % 2 === 0],
    );
  }
  await fx.admin.query(
    `INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature) VALUES ($1, $2, $3, 5)`,
    [B.tenantId, B.equipment[0], new Date(base)],
  );
  await refreshRollups(fx.admin, new Date(base), new Date(base + 3 * HOUR));
});

after(() => fx?.close());

test('the fleet board shows every visible unit with its latest reading and open alerts', async () => {
  const res = await fx.call(A.viewer.token, 'GET', '/v1/fleet');
  assert.equal(res.statusCode, 200);
  const units = json<Page<FleetUnit>>(res).items;
  assert.deepEqual(units.map((u) => u.id).sort(), [...A.equipment].sort());
  const u1 = units.find((u) => u.id === A.equipment[0])!;
  assert.equal(u1.lastReading?.temperature, -12);
  assert.equal(u1.lastReading?.door, true);
  assert.equal(u1.lastReading?.ts, new Date(base + 120 * 60_000).toISOString());
  assert.equal(units.find((u) => u.id === A.equipment[1])!.lastReading, null);
  const { rows } = await fx.admin.query<{ equipment_id: string; n: number }>(
    `SELECT equipment_id, count(*)::int AS n FROM alerts WHERE tenant_id = $1 AND status <> 'resolved' GROUP BY 1`,
    [A.tenantId],
  );
  for (const u of units) assert.equal(u.openAlerts, rows.find((r) => r.equipment_id === u.id)?.n ?? 0, u.id);
  assert.ok(
    units.some((u) => u.openAlerts > 0 && u.worstSeverity !== null),
    'the fixture opens alerts',
  );
});

test('a site-restricted viewer sees only its site on the board', async () => {
  const units = json<Page<FleetUnit>>(await fx.call(A.siteViewer.token, 'GET', '/v1/fleet')).items;
  assert.deepEqual(
    units.map((u) => u.id),
    [A.equipment[0]],
  );
});

test("a unit's history pages newest first without gaps or repeats", async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const qs: string = cursor ? `&cursor=${cursor}` : '';
    const res = await fx.call(A.viewer.token, 'GET', `/v1/equipment/${A.equipment[0]}/readings?limit=3${qs}`);
    assert.equal(res.statusCode, 200);
    const p = json<Page<{ ts: string }>>(res);
    seen.push(...p.items.map((r) => r.ts));
    cursor = p.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual(
    seen,
    Array.from({ length: 7 }, (_, i) => new Date(base + (6 - i) * 20 * 60_000).toISOString()),
  );
});

test('history filters by time and refuses a cursor of another unit', async () => {
  const from = new Date(base + 40 * 60_000).toISOString();
  const to = new Date(base + 100 * 60_000).toISOString();
  const p = json<Page<{ temperature: number }>>(
    await fx.call(A.viewer.token, 'GET', `/v1/equipment/${A.equipment[0]}/readings?from=${from}&to=${to}`),
  );
  assert.deepEqual(
    p.items.map((r) => r.temperature),
    [-14, -15, -16],
  );
  const first = json<Page<unknown>>(
    await fx.call(A.viewer.token, 'GET', `/v1/equipment/${A.equipment[0]}/readings?limit=1`),
  );
  const wrong = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[1]}/readings?cursor=${first.nextCursor}`,
  );
  assert.equal(wrong.statusCode, 400);
  assert.equal(json<{ error: { code: string } }>(wrong).error.code, 'VALIDATION_FAILED');
});

test('hourly rollups come from the rollup view', async () => {
  const from = new Date(base).toISOString();
  const to = new Date(base + 3 * HOUR).toISOString();
  const res = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[0]}/readings/hourly?from=${from}&to=${to}`,
  );
  assert.equal(res.statusCode, 200);
  const hours = json<
    Array<{
      hour: string;
      readings: number;
      temperatureMin: number;
      temperatureMax: number;
      compressorDuty: number;
    }>
  >(res);
  assert.deepEqual(
    hours.map((h) => [h.hour, h.readings, h.temperatureMin, h.temperatureMax]),
    [
      [new Date(base).toISOString(), 3, -18, -16],
      [new Date(base + HOUR).toISOString(), 3, -15, -13],
      [new Date(base + 2 * HOUR).toISOString(), 1, -12, -12],
    ],
  );
  assert.equal(hours[0]!.compressorDuty, 2 / 3);
  const tooLong = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[0]}/readings/hourly?from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z`,
  );
  assert.equal(tooLong.statusCode, 400);
});

test("another tenant's unit, or another site's for a restricted user, is 404 on every read", async () => {
  for (const [token, unit] of [
    [A.admin.token, B.equipment[0]],
    [A.siteViewer.token, A.equipment[1]],
  ] as const) {
    for (const path of [`/v1/equipment/${unit}/readings`, `/v1/equipment/${unit}/readings/hourly`]) {
      const res = await fx.call(token, 'GET', path);
      assert.equal(res.statusCode, 404, path);
    }
  }
  const board = json<Page<FleetUnit>>(await fx.call(A.admin.token, 'GET', `/v1/fleet?siteId=${B.sites[0]}`));
  assert.deepEqual(board.items, []);
});
