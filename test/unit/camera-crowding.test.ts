/**
 * Crowding as an alert rule on a zone, given → when → then: the rule's lifecycle on frame time
 * (normal → pending → firing → recovering → normal, with hysteresis and a clear delay), the
 * camera decider's crowding events naming their alert, the events that leave the actor, and what
 * the alert writer and the notifier read from them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CROWDING_RULE,
  crowdingAlert,
  crowdingStep,
  handleCameraCommand,
  initialCameraState,
  outboundEvents,
  type CameraEvent,
  type CrowdingState,
  type TrackerDetection,
  type ZoneDef,
  type ZoneEvent,
} from '../../actors/camera/mod.ts';
import { cameraAlertChange } from '../../actors/camera/camera-alerts.ts';
import { cameraNotice, routes, webhookBody, type Channel } from '../../actors/notify/notify.routing.ts';
import { alertIdFor } from '../../actors/mod.ts';
import {
  assertValid,
  VigilEvent,
  type CameraEvent as PublishedCameraEvent,
  type PeopleEvent,
} from '../../schemas/mod.ts';

const zone: ZoneDef = {
  id: '55555555-5555-4555-8555-555555555555',
  kind: 'area',
  points: [
    [0.2, 0.4],
    [0.8, 0.4],
    [0.8, 0.9],
    [0.2, 0.9],
  ],
  crowding: { occupancy: 3, seconds: 2, severity: 'critical', clearOccupancy: 1, clearSeconds: 1 },
};
const cam = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  siteId: '22222222-2222-4222-8222-222222222222',
  cameraId: '33333333-3333-4333-8333-333333333333',
  entrances: new Set<string>(),
};

/** given a zone's crowding state → when occupancy at these frame times → then its events and phases. */
function walk(
  def: ZoneDef,
  counts: Array<[ts: number, count: number]>,
  given: CrowdingState = { since: null, active: false },
): { events: ZoneEvent[]; phases: string[]; state: CrowdingState } {
  let state = given;
  const events: ZoneEvent[] = [];
  const phases: string[] = [];
  for (const [ts, count] of counts) {
    const r = crowdingStep(def, state, count, ts);
    state = r.state;
    if (r.event) events.push(r.event);
    phases.push(
      !state.active
        ? state.since === null
          ? 'normal'
          : 'pending'
        : state.clearSince === undefined
          ? 'firing'
          : 'recovering',
    );
  }
  return { events, phases, state };
}

describe('crowding rule lifecycle', () => {
  test('pending resets below K; K held T s fires once; it recovers only at the clear occupancy, held the clear delay', () => {
    const { events, phases } = walk(zone, [
      [0, 3],
      [1000, 2], // below K before T: pending resets
      [2000, 3],
      [3000, 4],
      [4000, 3], // held 2 s: fires
      [5000, 2], // below K but above the clear occupancy: still firing (hysteresis)
      [6000, 1], // at the clear occupancy: recovering
      [6500, 3], // back up: firing again, the same alert
      [7000, 0],
      [7500, 1],
      [8000, 1], // cleared for 1 s: resolved
    ]);
    assert.deepEqual(phases, [
      'pending',
      'normal',
      'pending',
      'pending',
      'firing',
      'firing',
      'recovering',
      'firing',
      'recovering',
      'recovering',
      'normal',
    ]);
    assert.deepEqual(events, [
      { type: 'crowding_started', zoneId: zone.id, ts: 4000, count: 3, since: 2000 },
      { type: 'crowding_ended', zoneId: zone.id, ts: 8000, count: 1, since: 2000 },
    ]);
  });

  test('firing keeps the instant it opened; a rule taken off a crowded zone ends its crowding', () => {
    const firing = walk(zone, [
      [0, 5],
      [2500, 5],
    ]).state;
    assert.deepEqual(firing, { since: 0, active: true, openedAt: 2500 });
    const { events, state } = walk({ ...zone, crowding: null }, [[3000, 5]], firing);
    assert.deepEqual(events, [{ type: 'crowding_ended', zoneId: zone.id, ts: 3000, count: 5, since: 0 }]);
    assert.deepEqual(state, { since: null, active: false });
  });

  test('with no rule nothing happens however many people come', () => {
    assert.deepEqual(
      walk({ ...zone, crowding: null }, [
        [0, 50],
        [9000, 50],
      ]).events,
      [],
    );
  });
});

describe('crowding through the camera decider and out of the actor', () => {
  const person = (x: number, look: number[]): TrackerDetection => ({
    box: { x1: x - 0.03, y1: 0.5, x2: x + 0.03, y2: 0.8 },
    score: 0.9,
    appearance: look,
  });
  const LOOKS = [
    [0.9, 0.1, 0.1, 0.9, 0.1, 0.1],
    [0.1, 0.9, 0.1, 0.1, 0.9, 0.1],
    [0.1, 0.1, 0.9, 0.1, 0.1, 0.9],
  ];
  const three = LOOKS.map((look, i) => person(0.3 + i * 0.2, look));

  /** given a camera with the zone → when 3 people stand in it 4 s, then leave → then its events. */
  function scene(): CameraEvent[] {
    let state = initialCameraState([zone]);
    const events: CameraEvent[] = [];
    let seq = 0;
    for (let ts = 0; ts <= 12_000; ts += 200) {
      const detections = ts <= 4000 ? three : [];
      const r = handleCameraCommand(state, { type: 'detections', data: { seq: ++seq, ts, detections } }, ts);
      state = r.state;
      events.push(...r.events);
    }
    return events;
  }

  test('crowding_started carries the rule severity and opens the alert; crowding_ended names the same alert', () => {
    const crowding = scene().filter((e) => e.type === 'crowding_started' || e.type === 'crowding_ended');
    assert.deepEqual(
      crowding.map((e) => e.type),
      ['crowding_started', 'crowding_ended'],
    );
    const [started, ended] = crowding as Array<Extract<CameraEvent, { type: 'crowding_started' }>>;
    assert.equal(started!.data.severity, 'critical');
    assert.equal(started!.data.openedAt, started!.data.ts);
    assert.equal(ended!.data.openedAt, started!.data.ts, 'the end names the alert the start opened');
    assert.ok(started!.data.ts - started!.data.since >= 2000, 'held the rule’s 2 s');

    const out = outboundEvents(crowding, cam) as PeopleEvent[];
    for (const e of out) assertValid(VigilEvent, e);
    const alert = crowdingAlert(zone.id, started!.data.ts);
    assert.deepEqual(alert, {
      alertId: alertIdFor(zone.id, CROWDING_RULE, started!.data.ts),
      openedAt: started!.data.ts,
    });
    assert.deepEqual(
      out.map((e) => [e.type, e.data.severity, e.data.alert]),
      [
        ['people.crowding_started', 'critical', alert],
        ['people.crowding_ended', 'critical', alert],
      ],
    );
  });

  test('a crowded zone whose rule changes ends its crowding (its alert resolves); a deleted one says nothing', () => {
    let state = initialCameraState([zone]);
    const started: CameraEvent[] = [];
    for (let ts = 0, seq = 1; ts <= 3000; ts += 200, seq++) {
      const r = handleCameraCommand(state, { type: 'detections', data: { seq, ts, detections: three } }, ts);
      state = r.state;
      started.push(...r.events.filter((e) => e.type === 'crowding_started'));
    }
    assert.equal(started.length, 1);
    const openedAt = (started[0] as Extract<CameraEvent, { type: 'crowding_started' }>).data.ts;
    const relaxed: ZoneDef = { ...zone, crowding: { occupancy: 5, seconds: 2 } };
    const changed = handleCameraCommand(state, { type: 'set_zones', data: { zones: [relaxed] } }, 99_000);
    assert.deepEqual(
      changed.events.filter((e) => e.type === 'crowding_ended').map((e) => e.data),
      [{ zoneId: zone.id, ts: 3000, count: 3, since: openedAt - 2000, severity: 'critical', openedAt }],
    );
    assert.deepEqual(changed.state.zones.crowding, {}, 'the changed zone starts afresh');
    const deleted = handleCameraCommand(state, { type: 'set_zones', data: { zones: [] } }, 99_000);
    assert.deepEqual(
      deleted.events.map((e) => e.type),
      ['zones_set'],
    );
  });

  test('the alert writer and the notifier read an opening and a resolution of the zone’s crowding alert', () => {
    const crowding = scene().filter((e) => e.type === 'crowding_started' || e.type === 'crowding_ended');
    const [opens, resolves] = outboundEvents(crowding, cam).map((e) => cameraAlertChange(e as PeopleEvent));
    assert.ok(opens && resolves);
    assert.deepEqual(
      {
        opens: opens.opens,
        ruleKey: opens.ruleKey,
        zoneId: opens.zoneId,
        cameraId: opens.cameraId,
        severity: opens.severity,
      },
      { opens: true, ruleKey: 'crowding', zoneId: zone.id, cameraId: cam.cameraId, severity: 'critical' },
    );
    assert.match(opens.message, /^crowding: 3 people in the zone for \d+(\.\d+)? s$/);
    assert.equal(resolves.opens, false);
    assert.equal(resolves.alertId, opens.alertId);

    const notice = cameraNotice(opens);
    assert.equal(notice.kind, 'opened');
    const body = webhookBody(notice.kind, notice.alert, opens.at) as { alert: Record<string, unknown> };
    assert.deepEqual(
      {
        equipmentId: body.alert['equipmentId'],
        cameraId: body.alert['cameraId'],
        zoneId: body.alert['zoneId'],
      },
      { equipmentId: null, cameraId: cam.cameraId, zoneId: zone.id },
    );
    const channel = (minSeverity: Channel['minSeverity']): Channel => ({
      id: 'c',
      tenantId: cam.tenantId,
      name: 'hook',
      url: 'http://127.0.0.1/hook',
      secret: 's',
      minSeverity,
      siteIds: [cam.siteId],
      remindEveryS: null,
    });
    assert.equal(routes(channel('critical'), notice.alert), true);
    assert.equal(cameraNotice(resolves).kind, 'resolved');
  });

  test('camera events: offline opens and online resolves camera_offline; other events change no alert', () => {
    const alert = { alertId: alertIdFor(cam.cameraId, 'camera_offline', 10), openedAt: 10 };
    const base = { tenantId: cam.tenantId, siteId: cam.siteId };
    const offline: PublishedCameraEvent = {
      ...base,
      id: 'off',
      type: 'camera.offline',
      ts: 10,
      data: { cameraId: cam.cameraId, reason: 'stream ended', alert },
    };
    const online: PublishedCameraEvent = {
      ...base,
      id: 'on',
      type: 'camera.online',
      ts: 20,
      data: { cameraId: cam.cameraId, alert },
    };
    const first: PublishedCameraEvent = {
      ...base,
      id: 'first',
      type: 'camera.online',
      ts: 5,
      data: { cameraId: cam.cameraId },
    };
    const o = cameraAlertChange(offline);
    assert.deepEqual(
      o && { opens: o.opens, ruleKey: o.ruleKey, zoneId: o.zoneId, severity: o.severity, message: o.message },
      {
        opens: true,
        ruleKey: 'camera_offline',
        zoneId: null,
        severity: 'critical',
        message: 'camera offline: stream ended',
      },
    );
    assert.equal(cameraAlertChange(online)?.opens, false);
    assert.equal(cameraAlertChange(first), null, 'a first stream resolves nothing');
    const entry = outboundEvents([{ type: 'entry', data: { zoneId: zone.id, trackId: 1, ts: 3 } }], cam)[0]!;
    assert.equal(cameraAlertChange(entry), null);
  });
});
