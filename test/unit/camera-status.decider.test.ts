/** The camera status decider, given → when → then: online/offline and the camera_offline alert. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  handle,
  initialCameraStatus,
  wakeAt,
  withoutWaiting,
  type CameraStatus,
  type CameraStatusEvent,
  type OfflinePolicy,
} from '../../actors/camera/camera-status.decider.ts';
import { alertIdFor } from '../../actors/mod.ts';
import type { VideoState } from '../../actors/video/mod.ts';

const CAM = '5b0f3f44-0d5c-4a4e-9a43-1f1b7f0a0c01';

/** Runs the states in order from `given`; returns the final status and every event. */
function run(
  given: CameraStatus,
  states: Array<[VideoState, number, string?]>,
): { state: CameraStatus; events: CameraStatusEvent[] } {
  let state = given;
  const events: CameraStatusEvent[] = [];
  for (const [video, at, reason] of states) {
    const out = handle(state, {
      type: 'VideoStateChanged',
      data: { cameraId: CAM, state: video, reason: reason ?? null, at },
    });
    state = out.state;
    events.push(...out.events);
  }
  return { state, events };
}

describe('camera status decider', () => {
  test('a first stream is online and resolves nothing', () => {
    const { events } = run(initialCameraStatus(), [
      ['starting', 1],
      ['streaming', 2],
    ]);
    assert.deepEqual(events, [{ type: 'camera.online', data: { at: 2, alert: null } }]);
  });

  test('a dropped stream goes offline once with the reason and an alert derived from camera and time', () => {
    const { state, events } = run(initialCameraStatus(), [
      ['streaming', 1],
      ['reconnecting', 10, 'stream ended'],
      ['reconnecting', 12, 'cannot open stream: refused'],
      ['failed', 13, 'no video'],
    ]);
    const alert = { alertId: alertIdFor(CAM, 'camera_offline', 10), openedAt: 10 };
    assert.deepEqual(events.slice(1), [
      { type: 'camera.offline', data: { at: 10, reason: 'stream ended', alert } },
    ]);
    assert.deepEqual(state, { online: false, alert });
  });

  test('streaming again is online and resolves the alert the camera went offline with', () => {
    const offline = run(initialCameraStatus(), [
      ['streaming', 1],
      ['reconnecting', 10, 'stream ended'],
    ]).state;
    const { state, events } = run(offline, [['streaming', 20]]);
    assert.deepEqual(events, [{ type: 'camera.online', data: { at: 20, alert: offline.alert } }]);
    assert.deepEqual(state, { online: true, alert: null });
  });

  test('a pipeline stopped or restarted on purpose changes nothing', () => {
    const online = run(initialCameraStatus(), [['streaming', 1]]).state;
    const { state, events } = run(online, [
      ['stopped', 5],
      ['starting', 6],
      ['streaming', 7],
    ]);
    assert.deepEqual(events, []);
    assert.deepEqual(state, online);
  });

  test('a camera that never streams is offline with the reason', () => {
    const { events } = run(initialCameraStatus(), [['failed', 3, 'model missing']]);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'camera.offline');
  });
});

describe('camera status decider with a grace and a clear delay (the alert lifecycle)', () => {
  const POLICY: OfflinePolicy = { forMs: 10_000, clearMs: 5_000 };
  type Step = [VideoState | 'tick', number, string?];

  /** Like `run`, with the policy, and `tick` for the service's timer firing at that instant. */
  function walk(given: CameraStatus, steps: Step[]): { state: CameraStatus; events: CameraStatusEvent[] } {
    let state = given;
    const events: CameraStatusEvent[] = [];
    for (const [what, at, reason] of steps) {
      const out = handle(
        state,
        what === 'tick'
          ? { type: 'DelayElapsed', data: { cameraId: CAM, at } }
          : { type: 'VideoStateChanged', data: { cameraId: CAM, state: what, reason: reason ?? null, at } },
        POLICY,
      );
      state = out.state;
      events.push(...out.events);
    }
    return { state, events };
  }
  const online = walk(initialCameraStatus(), [['streaming', 1]]).state;

  test('a stream back within the grace is a hiccup: no event, no alert, no timer left', () => {
    const pending = walk(online, [['reconnecting', 100, 'stream ended']]);
    assert.deepEqual(pending.events, []);
    assert.equal(wakeAt(pending.state, POLICY), 10_100, 'the grace runs from the drop');
    const { state, events } = walk(pending.state, [
      ['starting', 600],
      ['streaming', 1_100],
      ['tick', 10_100],
    ]);
    assert.deepEqual(events, []);
    assert.deepEqual(state, online);
    assert.equal(wakeAt(state, POLICY), null);
  });

  test('a stream lost for the whole grace fires once, when the grace is over, with the first reason', () => {
    const { state, events } = walk(online, [
      ['reconnecting', 100, 'stream ended'],
      ['reconnecting', 2_000, 'cannot open stream: refused'],
      ['tick', 9_000],
      ['tick', 10_100],
      ['tick', 10_200],
    ]);
    const alert = { alertId: alertIdFor(CAM, 'camera_offline', 10_100), openedAt: 10_100 };
    assert.deepEqual(events, [
      { type: 'camera.offline', data: { at: 10_100, reason: 'stream ended', alert } },
    ]);
    assert.deepEqual(state, { online: false, alert });
  });

  test('streaming again resolves only after the clear delay; dropping within it keeps the same alert open', () => {
    const offline = walk(online, [
      ['reconnecting', 100, 'stream ended'],
      ['tick', 10_100],
    ]).state;
    const flap = walk(offline, [
      ['streaming', 20_000],
      ['reconnecting', 22_000, 'stream ended'],
      ['tick', 25_000],
    ]);
    assert.deepEqual(flap.events, [], 'a flapping stream neither resolves nor reopens');
    assert.deepEqual(flap.state, offline);
    const { state, events } = walk(offline, [
      ['streaming', 30_000],
      ['tick', 34_000],
      ['tick', 35_000],
    ]);
    assert.deepEqual(events, [{ type: 'camera.online', data: { at: 35_000, alert: offline.alert } }]);
    assert.deepEqual(state, { online: true, alert: null });
  });

  test('a first stream is online at once; a camera stopped on purpose drops what it waited for', () => {
    assert.deepEqual(walk(initialCameraStatus(), [['streaming', 3]]).events, [
      { type: 'camera.online', data: { at: 3, alert: null } },
    ]);
    const pending = walk(online, [['failed', 100, 'model missing']]).state;
    assert.deepEqual(withoutWaiting(pending), online);
    assert.deepEqual(walk(withoutWaiting(pending), [['tick', 10_100]]).events, []);
  });
});
