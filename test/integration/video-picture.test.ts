/**
 * The picture a camera node answers snapshots with (actors/video/picture.ts): the latest sampled
 * frame of a real decode (node-av) of the project's synthetic scene, converted natively and
 * encoded as JPEG, is the scene's frame at that time — its size, its colours in the right order
 * — within codec error; asked twice for the same frame it is encoded once; a session that ends
 * leaves no frame held. A frame too detailed for the byte bound is shrunk until it fits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { LatestPicture, openVideo, renderFrame, SCENES } from '../../actors/video/mod.ts';
import { encodeJpeg } from '../../actors/video/picture.ts';
import { sceneVideos } from '../helpers/video.ts';

const scene = SCENES['walk-through'];
let videos: Awaited<ReturnType<typeof sceneVideos>>;

before(async () => {
  videos = await sceneVideos(['walk-through']);
});

after(async () => {
  await videos?.cleanup();
});

function meanDifference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** The same RGB picture with red and blue swapped: what a wrong channel order would show. */
function swapped(rgb: Buffer): Buffer {
  const out = Buffer.from(rgb);
  for (let i = 0; i < out.length; i += 3) [out[i], out[i + 2]] = [rgb[i + 2]!, rgb[i]!];
  return out;
}

describe('the latest picture of a video', () => {
  test("is the scene's frame at its time, in its size and colours", async () => {
    const latest = new LatestPicture(1024 * 1024);
    let checked = false;
    for await (const frame of openVideo({
      url: videos.path('walk-through'),
      inputSize: 320,
      fps: 2,
      readTimeoutMs: 5000,
      picture: latest,
    })) {
      // 3 s in: two people on the floor, a red and a blue shirt.
      if (frame.pts < 3) continue;
      assert.ok(latest.held);
      const first = latest.picture();
      const again = latest.picture();
      assert.ok(first && again);
      assert.equal(first, again, 'one encode for the same frame');
      const picture = await first;
      assert.equal(picture.at, frame.ts);
      assert.deepEqual([picture.width, picture.height], [scene.width, scene.height]);
      const { data, info } = await sharp(picture.jpeg).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.format, 'raw');
      assert.deepEqual([info.width, info.height, info.channels], [scene.width, scene.height, 3]);
      const truth = renderFrame(scene, frame.pts);
      const right = meanDifference(data, truth);
      const wrong = meanDifference(data, swapped(truth));
      assert.ok(right < 4, `mean difference from the scene's frame: ${right}`);
      assert.ok(wrong > right + 0.5, `colours in order: ${right} vs swapped ${wrong}`);
      checked = true;
      break;
    }
    assert.ok(checked, 'the video reached 3 s');
    assert.equal(latest.held, false, 'the ended session left no frame held');
    assert.equal(latest.picture(), null);
  });

  test('a picture past the byte bound loses quality, then size, until it fits', async () => {
    // Noise does not compress: 640×360 of it is far past 40 kB at any JPEG quality.
    const noise = Buffer.alloc(640 * 360 * 3);
    for (let i = 0, s = 7; i < noise.length; i++)
      noise[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
    const big = await encodeJpeg(noise, 640, 360, 10 * 1024 * 1024);
    assert.deepEqual([big.width, big.height], [640, 360]);
    const small = await encodeJpeg(noise, 640, 360, 40 * 1024);
    assert.ok(small.jpeg.length <= 40 * 1024, `${small.jpeg.length} bytes`);
    assert.ok(small.width < 640, 'shrunk to fit');
    await assert.rejects(encodeJpeg(noise, 640, 360, 100), RangeError);
  });
});
