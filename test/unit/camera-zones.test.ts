import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  initialZones,
  zonesStep,
  type ZoneDef,
  type ZoneEvent,
  type ZonesState,
} from '../../actors/camera/mod.ts';

/** A person whose feet are at (x, y): a box 0.05 wide, 0.3 tall, standing on y. */
const at = (id: number, x: number, y: number) => ({
  id,
  box: { x1: x - 0.025, y1: y - 0.3, x2: x + 0.025, y2: y },
});

const square: ZoneDef = {
  id: 'aisle',
  kind: 'area',
  points: [
    [0.4, 0.4],
    [0.6, 0.4],
    [0.6, 0.8],
    [0.4, 0.8],
  ],
};

/** given zones → when frames (ts, tracks) → then the events. */
function run(
  zones: ZoneDef[],
  frames: Array<
    [ts: number, tracks: ReturnType<typeof at>[], ended?: Array<{ id: number; lastSeen: number }>]
  >,
): { events: ZoneEvent[]; state: ZonesState } {
  let state = initialZones();
  const events: ZoneEvent[] = [];
  for (const [ts, tracks, ended] of frames) {
    const r = zonesStep(state, zones, ts, tracks, ended ?? []);
    state = r.state;
    events.push(...r.events);
  }
  return { events, state };
}

describe('area zones', () => {
  test('entry and exit are dated to the first frame of the change; dwell is the time between', () => {
    const { events } = run(
      [square],
      [
        [0, [at(1, 0.3, 0.6)]],
        [200, [at(1, 0.45, 0.6)]],
        [400, [at(1, 0.5, 0.6)]],
        [600, [at(1, 0.55, 0.6)]],
        [800, [at(1, 0.7, 0.6)]],
        [1000, [at(1, 0.8, 0.6)]],
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.type !== 'occupancy'),
      [
        { type: 'zone_entry', zoneId: 'aisle', trackId: 1, ts: 200 },
        { type: 'zone_exit', zoneId: 'aisle', trackId: 1, ts: 800, dwellSeconds: 0.6 },
      ],
    );
  });

  test('membership goes by the feet (bottom-centre), not the box', () => {
    // The box overlaps the zone, the feet stand below it.
    const { events } = run(
      [square],
      [
        [0, [at(1, 0.5, 0.9)]],
        [200, [at(1, 0.5, 0.9)]],
        [400, [at(1, 0.5, 0.9)]],
      ],
    );
    assert.deepEqual(events, []);
  });

  test('one frame across the edge is flicker: no event (inertia 2)', () => {
    const { events } = run(
      [square],
      [
        [0, [at(1, 0.38, 0.6)]],
        [200, [at(1, 0.41, 0.6)]],
        [400, [at(1, 0.38, 0.6)]],
        [600, [at(1, 0.38, 0.6)]],
      ],
    );
    assert.deepEqual(events, []);
  });

  test('occupancy follows who is inside; a track that ends inside exits at its last sighting', () => {
    const { events } = run(
      [square],
      [
        [0, [at(1, 0.5, 0.6), at(2, 0.45, 0.5)]],
        [200, [at(1, 0.5, 0.6), at(2, 0.45, 0.5)]],
        [400, []],
        [3600, [], [{ id: 2, lastSeen: 200 }]],
      ],
    );
    assert.deepEqual(events, [
      { type: 'zone_entry', zoneId: 'aisle', trackId: 1, ts: 0 },
      { type: 'zone_entry', zoneId: 'aisle', trackId: 2, ts: 0 },
      { type: 'occupancy', zoneId: 'aisle', ts: 200, count: 2 },
      { type: 'zone_exit', zoneId: 'aisle', trackId: 2, ts: 200, dwellSeconds: 0.2 },
      { type: 'occupancy', zoneId: 'aisle', ts: 3600, count: 1 },
    ]);
  });

  test('crowding: occupancy at or above K for T seconds starts once, ends when it drops', () => {
    const zone: ZoneDef = { ...square, crowding: { occupancy: 2, seconds: 1 } };
    const two = [at(1, 0.5, 0.6), at(2, 0.45, 0.5)];
    const { events } = run(
      [zone],
      [
        [0, two],
        [200, two],
        [800, two],
        [1300, two],
        [1500, two],
        [1700, [at(1, 0.5, 0.6), at(2, 0.9, 0.5)]],
        [1900, [at(1, 0.5, 0.6), at(2, 0.9, 0.5)]],
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.type.startsWith('crowding')),
      [
        { type: 'crowding_started', zoneId: 'aisle', ts: 1300, count: 2, since: 200 },
        { type: 'crowding_ended', zoneId: 'aisle', ts: 1900, count: 1, since: 200 },
      ],
    );
  });
});

describe('product zones', () => {
  const shelf: ZoneDef = { ...square, id: 'cooler', kind: 'product', dwellSeconds: 2 };

  test('an interaction once per visit when dwell reaches T, dated entry + T', () => {
    const frames: Array<[number, ReturnType<typeof at>[]]> = [];
    for (let ts = 0; ts <= 4000; ts += 200) frames.push([ts, [at(1, 0.5, 0.6)]]);
    const { events } = run([shelf], frames);
    assert.deepEqual(
      events.filter((e) => e.type === 'product_interaction'),
      [{ type: 'product_interaction', zoneId: 'cooler', trackId: 1, ts: 2000, dwellSeconds: 2 }],
    );
  });

  test('passing by (dwell below T) is no interaction', () => {
    const { events } = run(
      [shelf],
      [
        [0, [at(1, 0.45, 0.6)]],
        [200, [at(1, 0.5, 0.6)]],
        [1000, [at(1, 0.55, 0.6)]],
        [1200, [at(1, 0.7, 0.6)]],
        [1400, [at(1, 0.8, 0.6)]],
      ],
    );
    assert.equal(events.filter((e) => e.type === 'product_interaction').length, 0);
    assert.equal(events.filter((e) => e.type === 'zone_exit').length, 1);
  });
});

describe('line zones', () => {
  // A vertical door line from top to bottom: its right-hand side (image coordinates) is x < 0.5.
  const door: ZoneDef = {
    id: 'door',
    kind: 'line',
    points: [
      [0.5, 0.2],
      [0.5, 0.9],
    ],
  };

  test('crossing one way is entry, back is exit, dated where the path meets the line', () => {
    const { events } = run(
      [door],
      [
        [0, [at(1, 0.7, 0.6)]],
        [200, [at(1, 0.6, 0.6)]],
        [400, [at(1, 0.4, 0.6)]],
        [600, [at(1, 0.3, 0.6)]],
        [800, [at(1, 0.45, 0.6)]],
        [1000, [at(1, 0.55, 0.6)]],
        [1200, [at(1, 0.65, 0.6)]],
      ],
    );
    assert.deepEqual(events, [
      { type: 'entry', zoneId: 'door', trackId: 1, ts: 300 },
      { type: 'exit', zoneId: 'door', trackId: 1, ts: 900 },
    ]);
  });

  test('walking around the end of the line is no crossing', () => {
    const { events } = run(
      [door],
      [
        [0, [at(1, 0.7, 0.95)]],
        [200, [at(1, 0.3, 0.95)]],
        [400, [at(1, 0.3, 0.95)]],
      ],
    );
    assert.deepEqual(events, []);
  });

  test('standing on the line and swaying is no crossing', () => {
    const { events } = run(
      [door],
      [
        [0, [at(1, 0.505, 0.6)]],
        [200, [at(1, 0.496, 0.6)]],
        [400, [at(1, 0.504, 0.6)]],
        [600, [at(1, 0.497, 0.6)]],
      ],
    );
    assert.deepEqual(events, []);
  });
});
