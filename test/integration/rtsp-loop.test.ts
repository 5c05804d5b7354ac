/**
 * The RTSP server's loop (the demo cameras' streams): a file served with `loop` plays again and
 * again in one session — the camera never sees the stream end, never reconnects — and the media
 * time keeps rising across the seam, so frame times stay in order for the tracker; the people of
 * the second pass are detected as those of the first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCENES } from '../../actors/video/mod.ts';
import { startRtspServer } from '../../ops/rtsp/rtsp.ts';
import { detectorFixture, shapeCamera } from '../helpers/video.ts';
import { waitFor } from '../helpers/wait.ts';

const SIZE = 320;
const fx = detectorFixture(['crossing'], SIZE);
const PASS = SCENES.crossing.duration;

test('a looped file streams on past its end in one session, media time rising across the seam', async () => {
  const server = await startRtspServer({
    mounts: { crossing: fx.videos.path('crossing') },
    loop: true,
    port: 0,
  });
  const { cam, frames, states } = shapeCamera(fx, server.url('crossing'), {
    size: SIZE,
    readTimeoutMs: 5000,
  });
  try {
    cam.start();
    await waitFor('two passes of the file', () => (frames.at(-1)?.pts ?? 0) > 2 * PASS + 1, 60_000);
  } finally {
    await cam.stop();
    await server.stop();
  }
  assert.deepEqual(states, [
    ['streaming', null],
    ['stopped', null],
  ]);
  assert.equal(cam.health().reconnects, 0);
  const pts = frames.map((f) => f.pts);
  assert.deepEqual(
    pts.filter((p, i) => i > 0 && p <= pts[i - 1]!),
    [],
    'media time only rises',
  );
  // Both walkers are found in each pass: the loop replays the picture, not just the clock.
  const bothSeen = (from: number, to: number) =>
    frames.some((f) => f.pts >= from && f.pts < to && f.detections.length === 2);
  assert.ok(bothSeen(0, PASS), 'first pass');
  assert.ok(bothSeen(PASS, 2 * PASS), 'second pass');
});
