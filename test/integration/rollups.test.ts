/**
 * Rollups over REST (issue 9): `/equipment/:id/readings?bucket=1h|1d` and
 * `/sites/:id/readings`. The same expectations hold on both storage variants (ops/test.sh runs
 * this file on plain PostgreSQL and on TimescaleDB): identical answers for the same data.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiFixture, json, type ApiFixture, type World } from '../helpers/app.ts';
import { refreshRollups } from '../helpers/telemetry.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const day = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const hour = day + 10 * HOUR;

let fx: ApiFixture;
let A: World;
let B: World;

interface Rollup {
  equipmentId: string;
  bucket: string;
  readings: number;
  temperatureMin: number | null;
  temperatureAvg: number | null;
  temperatureMax: number | null;
  pressureMax: number | null;
  compressorDuty: number | null;
  doorOpenRatio: number | null;
  doorOpenReadings: number;
  doorOpenMinutes: number | null;
  outOfBandReadings: number;
  outOfBandMinutes: number | null;
}

before(async () => {
  fx = await apiFixture();
  [A, B] = [await fx.world(), await fx.world()];
  // Four readings a quarter-hour apart; setpoint -18, so -14 and -12 are out of the ±2 °C band.
  const readings: [number, number, boolean, boolean][] = [
    [0, -18, false, true],
    [15, -16, true, true],
    [30, -14, true, false],
    [45, -12, false, true],
  ];
  for (const [min, temperature, door, compressor] of readings) {
    await fx.admin.query(
      `INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature, door, compressor, setpoint)
       VALUES ($1, $2, $3, $4, $5, $6, -18)`,
      [A.tenantId, A.equipment[0], new Date(hour + min * 60_000), temperature, door, compressor],
    );
  }
  // The unit of A's other site, without setpoint: no band to be out of.
  await fx.admin.query(
    'INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature) VALUES ($1, $2, $3, 4)',
    [A.tenantId, A.equipment[1], new Date(hour)],
  );
  await refreshRollups(fx.admin, new Date(day), new Date(day + DAY));
});

after(() => fx?.close());

const expected = (bucket: number, minutes: number): Rollup => ({
  equipmentId: A.equipment[0],
  bucket: new Date(bucket).toISOString(),
  readings: 4,
  temperatureMin: -18,
  temperatureAvg: -15,
  temperatureMax: -12,
  pressureMax: null,
  compressorDuty: 0.75,
  doorOpenRatio: 0.5,
  doorOpenReadings: 2,
  doorOpenMinutes: minutes / 2,
  outOfBandReadings: 2,
  outOfBandMinutes: minutes / 2,
});

/** The fields `expected` names: the response has a few more (pressure min/avg). */
function pick(r: Rollup): Rollup {
  const keys = Object.keys(expected(0, 0)) as (keyof Rollup)[];
  return Object.fromEntries(keys.map((k) => [k, r[k]])) as unknown as Rollup;
}

test('a unit answers hourly and daily rollups: min/avg/max, duty, door and setpoint band', async () => {
  const range = `from=${new Date(day).toISOString()}&to=${new Date(day + DAY).toISOString()}`;
  const hourly = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[0]}/readings?bucket=1h&${range}`,
  );
  assert.equal(hourly.statusCode, 200, hourly.body);
  const h = json<{ bucket: string; items: Rollup[] }>(hourly);
  assert.equal(h.bucket, '1h');
  assert.deepEqual(h.items.map(pick), [expected(hour, 60)]);

  const daily = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[0]}/readings?bucket=1d&${range}`,
  );
  assert.equal(daily.statusCode, 200, daily.body);
  assert.deepEqual(json<{ items: Rollup[] }>(daily).items.map(pick), [expected(day, 24 * 60)]);

  const raw = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[0]}/readings?bucket=raw&${range}`,
  );
  assert.equal(json<{ items: unknown[] }>(raw).items.length, 4);
});

test('a site answers every visible unit; another site or tenant is 404', async () => {
  const range = `from=${new Date(day).toISOString()}&to=${new Date(day + DAY).toISOString()}`;
  const all = json<{ items: Rollup[] }>(
    await fx.call(A.admin.token, 'GET', `/v1/sites/${A.sites[1]}/readings?bucket=1h&${range}`),
  );
  assert.deepEqual(
    all.items.map((r) => [r.equipmentId, r.readings, r.temperatureMax, r.outOfBandMinutes]),
    [[A.equipment[1], 1, 4, null]],
  );
  const own = json<{ items: Rollup[] }>(
    await fx.call(A.siteViewer.token, 'GET', `/v1/sites/${A.sites[0]}/readings?bucket=1d&${range}`),
  );
  assert.deepEqual(own.items.map(pick), [expected(day, 24 * 60)]);
  for (const [token, site] of [
    [A.siteViewer.token, A.sites[1]],
    [B.admin.token, A.sites[0]],
  ] as const) {
    const res = await fx.call(token, 'GET', `/v1/sites/${site}/readings?${range}`);
    assert.equal(res.statusCode, 404);
  }
});

test('a rollup window is bounded per bucket', async () => {
  const res = await fx.call(
    A.viewer.token,
    'GET',
    `/v1/equipment/${A.equipment[0]}/readings?bucket=1h&from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z`,
  );
  assert.equal(res.statusCode, 400);
  assert.equal(json<{ error: { code: string } }>(res).error.code, 'VALIDATION_FAILED');
});
