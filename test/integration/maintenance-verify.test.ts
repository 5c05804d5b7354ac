/**
 * Verified maintenance over the real services: a unit watching the camera zone in front of it,
 * maintenance records with windows, people events in ClickHouse and readings in PostgreSQL. A
 * record is verified only when someone was at the unit during its window and the temperature
 * came back into the setpoint band within the recovery time; every other outcome says why.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ApiMaintenance } from '../../schemas/mod.ts';
import type { PeopleEvent } from '../../gateway/analytics/mod.ts';
import { apiFixture, type ApiFixture, type World } from '../helpers/app.ts';
import { insertPeopleEvents } from '../helpers/retail-weeks.ts';

let fx: ApiFixture;
let A: World;
const MIN = 60_000;
const now = Date.now();
/** Minutes before the test started. */
const ago = (m: number) => now - m * MIN;

const person = (zoneId: string, cameraId: string, track: number, from: number, to: number): PeopleEvent[] => [
  {
    eventId: `in-${track}`,
    cameraId,
    zoneId,
    kind: 'zone_entry',
    entrance: false,
    trackId: track,
    atMs: from,
    dwellS: null,
    occupancy: null,
  },
  {
    eventId: `out-${track}`,
    cameraId,
    zoneId,
    kind: 'zone_exit',
    entrance: false,
    trackId: track,
    atMs: to,
    dwellS: (to - from) / 1000,
    occupancy: null,
  },
];

async function temperatures(equipmentId: string, points: Array<[number, number]>): Promise<void> {
  for (const [ts, value] of points)
    await fx.admin.query(
      'INSERT INTO telemetry (tenant_id, equipment_id, ts, temperature) VALUES ($1, $2, $3, $4)',
      [A.tenantId, equipmentId, new Date(ts), value],
    );
}

async function record(equipmentId: string, from: number, to: number): Promise<string> {
  const res = await fx.call(A.operator.token, 'POST', '/v1/maintenance', {
    equipmentId,
    kind: 'repair',
    performedAt: new Date(from).toISOString(),
    windowStart: new Date(from).toISOString(),
    windowEnd: new Date(to).toISOString(),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

async function verify(id: string, body: Record<string, unknown> = {}): Promise<ApiMaintenance> {
  const res = await fx.call(A.operator.token, 'POST', `/v1/maintenance/${id}/verify`, body);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<ApiMaintenance>();
}

before(async () => {
  fx = await apiFixture();
  A = await fx.world();
  // The first site's unit (setpoint −18 °C) watches the first site's zone.
  const res = await fx.call(A.admin.token, 'PATCH', `/v1/equipment/${A.equipment[0]}`, {
    watchZoneId: A.zones[0],
  });
  assert.equal(res.statusCode, 200, res.body);
});

after(async () => {
  await fx?.close();
});

/** Person `n` in the zone unit A.equipment[0] watches, from `from` to `to` (people events in ClickHouse). */
async function seenAtUnit(n: number, from: number, to: number): Promise<void> {
  await insertPeopleEvents(fx.deps.ch, A.tenantId, A.sites[0], person(A.zones[0], A.cameras[0], n, from, to));
}

test('someone at the unit during the window and the temperature back in band: verified, with when', async () => {
  const id = await record(A.equipment[0], ago(240), ago(230));
  await seenAtUnit(1, ago(238), ago(233));
  await temperatures(A.equipment[0], [
    [ago(225), -9],
    [ago(218), -17.2],
  ]);
  const checked = await verify(id);
  assert.deepEqual(
    { ...checked.verification, checkedAt: null },
    {
      verified: true,
      personPresent: true,
      recoveredAt: new Date(ago(218)).toISOString(),
      band: { low: -20, high: -16 },
      recoveryMinutes: 30,
      blocker: null,
      checkedAt: null,
    },
  );
  assert.ok(checked.verifiedAt);
  // Kept on the record; correcting the window drops the old check.
  const read = await fx.call(A.viewer.token, 'GET', `/v1/maintenance/${id}`);
  assert.equal(read.json<ApiMaintenance>().verification?.verified, true);
  const corrected = await fx.call(A.operator.token, 'PATCH', `/v1/maintenance/${id}`, {
    windowEnd: new Date(ago(229)).toISOString(),
  });
  assert.equal(corrected.statusCode, 200, corrected.body);
  assert.deepEqual(
    [corrected.json<ApiMaintenance>().verification, corrected.json<ApiMaintenance>().verifiedAt],
    [null, null],
  );
});

test('nobody seen at the unit: not verified, though the temperature recovered', async () => {
  const id = await record(A.equipment[0], ago(200), ago(190));
  await temperatures(A.equipment[0], [[ago(185), -18]]);
  const v = (await verify(id)).verification!;
  assert.deepEqual(
    [v.verified, v.personPresent, v.recoveredAt, v.blocker],
    [false, false, new Date(ago(185)).toISOString(), null],
  );
});

test('someone there but the temperature never came back within the recovery time: not verified', async () => {
  const id = await record(A.equipment[0], ago(160), ago(150));
  await seenAtUnit(2, ago(155), ago(152));
  await temperatures(A.equipment[0], [
    [ago(140), -8],
    [ago(125), -12],
    // Back in band, but 40 minutes after the window: too late for 30, in time for 45.
    [ago(110), -17],
  ]);
  const late = (await verify(id)).verification!;
  assert.deepEqual(
    [late.verified, late.personPresent, late.recoveredAt, late.blocker],
    [false, true, null, null],
  );
  const lenient = (await verify(id, { recoveryMinutes: 45 })).verification!;
  assert.deepEqual([lenient.verified, lenient.recoveredAt], [true, new Date(ago(110)).toISOString()]);
});

test('a window that ended minutes ago and has not recovered yet is pending, not failed', async () => {
  const id = await record(A.equipment[0], ago(15), ago(5));
  await seenAtUnit(3, ago(12), ago(8));
  await temperatures(A.equipment[0], [[ago(3), -9]]);
  const v = await verify(id);
  assert.deepEqual(
    [v.verification!.verified, v.verification!.personPresent, v.verification!.blocker, v.verifiedAt],
    [false, true, 'recovery_pending', null],
  );
});

test('a unit that watches no zone, or a record without a window, cannot be verified and says why', async () => {
  const noZone = await record(A.equipment[1], ago(100), ago(90));
  assert.equal((await verify(noZone)).verification!.blocker, 'no_watched_zone');
  const res = await fx.call(A.operator.token, 'POST', '/v1/maintenance', {
    equipmentId: A.equipment[0],
    kind: 'inspection',
    performedAt: new Date(ago(80)).toISOString(),
  });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal((await verify(res.json<{ id: string }>().id)).verification!.blocker, 'no_window');
  const viewer = await fx.call(A.viewer.token, 'POST', `/v1/maintenance/${noZone}/verify`, {});
  assert.equal(viewer.statusCode, 403);
});
