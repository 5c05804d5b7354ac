import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  handleCameraCommand,
  initialCameraState,
  initialTracker,
  track,
  type CameraEvent,
  type TrackerDetection,
  type TrackerState,
} from '../../actors/camera/mod.ts';

const RED = [0.86, 0.16, 0.16, 0.86, 0.16, 0.16];
const BLUE = [0.16, 0.2, 0.9, 0.16, 0.2, 0.9];

/** A person 0.05 wide, 0.3 tall, feet at (x, y). */
function person(x: number, y: number, look = RED, score = 0.9, w = 0.05, h = 0.3): TrackerDetection {
  return { box: { x1: x - w / 2, y1: y - h, x2: x + w / 2, y2: y }, score, appearance: look };
}

/** given a tracker → when frames every 200 ms → then ids of the confirmed tracks seen, per frame. */
function run(frames: TrackerDetection[][], state: TrackerState = initialTracker()) {
  const seen: number[][] = [];
  const ended: number[] = [];
  const reidentified: number[] = [];
  frames.forEach((dets, i) => {
    const r = track(state, i * 200, dets);
    state = r.state;
    seen.push(r.visible.map((t) => t.id).sort());
    ended.push(...r.ended.map((t) => t.id));
    reidentified.push(...r.reidentified.map((t) => t.id));
  });
  return { seen, ended, reidentified, state };
}

describe('tracker', () => {
  test('a walking person keeps one id; confirmed on the second sighting', () => {
    const { seen } = run([0, 1, 2, 3, 4].map((i) => [person(0.1 + i * 0.05, 0.7)]));
    assert.deepEqual(seen, [[], [1], [1], [1], [1]]);
  });

  test('fast walkers (a body width per frame, no overlap) are still followed', () => {
    const { seen } = run([0, 1, 2, 3].map((i) => [person(0.1 + i * 0.055, 0.7)]));
    assert.deepEqual(seen, [[], [1], [1], [1]]);
  });

  test('two people passing each other keep their ids (appearance keeps them apart)', () => {
    const frames = [0, 1, 2, 3, 4, 5, 6].map((i) => [
      person(0.3 + i * 0.04, 0.7, RED),
      person(0.54 - i * 0.04, 0.72, BLUE),
    ]);
    const { seen, state } = run(frames);
    assert.deepEqual(seen.at(-1), [1, 2]);
    const red = state.tracks.find((t) => t.id === 1)!;
    assert.ok(red.box.x1 > 0.5, 'track 1 is still the red walker, now on the right');
  });

  test('hidden for three frames, seen again further along: same id, re-identified', () => {
    const walk = (i: number) => [person(0.1 + i * 0.04, 0.7)];
    const frames = [walk(0), walk(1), walk(2), walk(3), [], [], [], walk(7), walk(8)];
    const { seen, reidentified, ended } = run(frames);
    assert.deepEqual(seen.slice(-2), [[1], [1]]);
    assert.deepEqual(reidentified, [1]);
    assert.deepEqual(ended, []);
  });

  test('someone who looks different where a lost person should be is someone else', () => {
    const frames = [
      [person(0.3, 0.7)],
      [person(0.3, 0.7)],
      [],
      [person(0.3, 0.7, BLUE)],
      [person(0.3, 0.7, BLUE)],
    ];
    const { seen } = run(frames);
    assert.deepEqual(seen.at(-1), [2]);
  });

  test('lost longer than the lost buffer: the track ends and a return is a new visitor', () => {
    const frames: TrackerDetection[][] = [[person(0.3, 0.7)], [person(0.3, 0.7)]];
    for (let i = 0; i < 16; i++) frames.push([]);
    frames.push([person(0.3, 0.7)], [person(0.3, 0.7)]);
    const { seen, ended } = run(frames);
    assert.deepEqual(ended, [1]);
    assert.deepEqual(seen.at(-1), [2]);
  });

  test('low-scored detections keep a track alive but never start one', () => {
    const frames = [
      [person(0.3, 0.7)],
      [person(0.31, 0.7)],
      [person(0.32, 0.7, RED, 0.3), person(0.8, 0.7, BLUE, 0.3)],
      [person(0.33, 0.7, RED, 0.3), person(0.8, 0.7, BLUE, 0.3)],
    ];
    const { seen, state } = run(frames);
    assert.deepEqual(seen, [[], [1], [1], [1]]);
    assert.equal(state.tracks.length, 1);
  });

  test('a fragment of a known person (a head above an occluder) starts no new track', () => {
    const frames = [
      [person(0.3, 0.7)],
      [person(0.3, 0.7)],
      [person(0.3, 0.7), person(0.3, 0.48, RED, 0.9, 0.025, 0.08)],
      [person(0.3, 0.7), person(0.3, 0.48, RED, 0.9, 0.025, 0.08)],
    ];
    const { state } = run(frames);
    assert.deepEqual(
      state.tracks.map((t) => t.id),
      [1],
    );
  });

  test('a narrow sliver of a half-hidden person keeps the full box from the motion model', () => {
    const frames = [0, 1, 2].map((i) => [person(0.3 + i * 0.02, 0.7)]);
    frames.push([person(0.37, 0.7, RED, 0.9, 0.015)]);
    const { state } = run(frames);
    const t = state.tracks[0]!;
    assert.ok(t.box.x2 - t.box.x1 > 0.045, `box narrowed to ${(t.box.x2 - t.box.x1).toFixed(3)}`);
  });
});

describe('camera decider', () => {
  const frame = (seq: number, ts: number, detections: TrackerDetection[]) =>
    ({ type: 'detections', data: { seq, ts, detections } }) as const;

  test('given a camera, when a person is confirmed, then track_started and the visitor estimate grows', () => {
    let state = initialCameraState();
    const events: CameraEvent[] = [];
    for (const [i, ts] of [0, 200, 400].entries()) {
      const r = handleCameraCommand(state, frame(i + 1, ts, [person(0.3, 0.7)]), ts);
      state = r.state;
      events.push(...r.events);
    }
    assert.deepEqual(
      events.filter((e) => e.type === 'track_started'),
      [{ type: 'track_started', data: { trackId: 1, ts: 0 } }],
    );
    assert.equal(state.visitors, 1);
    assert.equal(state.lastSeq, 3);
  });

  test('a redelivered (older) frame changes nothing', () => {
    const first = handleCameraCommand(initialCameraState(), frame(1, 1000, [person(0.3, 0.7)]), 1000);
    assert.deepEqual(handleCameraCommand(first.state, frame(1, 1000, [person(0.3, 0.7)]), 1000).events, []);
  });

  test('video streaming → online; reconnecting → offline with the reason; repeated states say nothing', () => {
    let state = initialCameraState();
    const seen: CameraEvent[] = [];
    for (const [s, reason] of [
      ['streaming', null],
      ['streaming', null],
      ['reconnecting', 'stream ended'],
      ['failed', 'stream ended'],
    ] as const) {
      const r = handleCameraCommand(state, { type: 'video_state', data: { state: s, reason } }, 5000);
      state = r.state;
      seen.push(...r.events);
    }
    assert.deepEqual(seen, [
      { type: 'camera_online', data: { ts: 5000 } },
      { type: 'camera_offline', data: { ts: 5000, reason: 'stream ended' } },
    ]);
  });

  test('changing a zone forgets who was in it; unchanged zones keep their members', () => {
    const a = {
      id: 'a',
      kind: 'area' as const,
      points: [
        [0.2, 0.5],
        [0.4, 0.5],
        [0.4, 0.9],
        [0.2, 0.9],
      ] as Array<[number, number]>,
    };
    const b = { ...a, id: 'b' };
    let state = initialCameraState([a, b]);
    for (const ts of [0, 200, 400])
      state = handleCameraCommand(state, frame(ts + 1, ts, [person(0.3, 0.7)]), ts).state;
    assert.deepEqual(Object.keys(state.zones.members).sort(), ['a', 'b']);
    const moved = { ...b, points: b.points.map(([x, y]) => [x + 0.1, y] as [number, number]) };
    state = handleCameraCommand(state, { type: 'set_zones', data: { zones: [a, moved] } }, 500).state;
    assert.deepEqual(Object.keys(state.zones.members), ['a']);
  });
});
