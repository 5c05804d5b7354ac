/** The camera status decider, given → when → then: online/offline and the camera_offline alert. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  handle,
  initialCameraStatus,
  type CameraStatus,
  type CameraStatusEvent,
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
