/**
 * The video side over a real RTSP stream (Debian's GStreamer RTSP server): frames are decoded,
 * sampled, detected; the server killed mid-stream turns the camera `reconnecting` with the
 * reason, and it streams again when the server is back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startRtspServer, type RtspServer } from '../../ops/rtsp/rtsp.ts';
import { detectorFixture, shapeCamera } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
const fx = detectorFixture(['crossing'], SIZE);

describe('camera video over RTSP', () => {
  test('streams, goes reconnecting when the server dies, streams again when it is back', async () => {
    const mounts = { crossing: fx.videos.path('crossing') };
    let server: RtspServer = await startRtspServer({ mounts, port: 0 });
    const { cam, frames, states } = shapeCamera(fx, server.url('crossing'), {
      size: SIZE,
      readTimeoutMs: 2000,
    });
    try {
      cam.start();
      await waitFor('people detected over RTSP', () => frames.some((f) => f.detections.length === 2));
      assert.equal(cam.health().state, 'streaming');
      await server.stop({ kill: true });
      await waitFor('reconnecting', () => cam.health().state === 'reconnecting');
      const dropped = states.find(([s]) => s === 'reconnecting');
      assert.ok(dropped?.[1], 'the reason is given');
      const before = frames.length;
      server = await startRtspServer({ mounts, port: server.port });
      await waitFor(
        'streaming again',
        () => cam.health().state === 'streaming' && frames.length > before + 5,
      );
      assert.ok(cam.health().reconnects >= 1);
    } finally {
      await cam.stop();
      await server.stop();
    }
    assert.equal(cam.health().state, 'stopped');
  });
});
