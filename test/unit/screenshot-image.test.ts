/**
 * Screenshot uploads are judged by their bytes (gateway/admin/screenshot-image.ts): the
 * signature picks JPEG or PNG, the header's size is bounded before anything is decoded, a full
 * decode rejects corrupt and truncated files, and what is kept is re-encoded without metadata.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { screenshotOf } from '../../gateway/admin/screenshot-image.ts';
import { isVigilError, SCREENSHOT_LIMITS } from '../../schemas/mod.ts';

const scene = (format: 'png' | 'jpeg' | 'webp' | 'gif') => {
  const img = sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } });
  return (
    format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : format === 'webp' ? img.webp() : img.gif()
  ).toBuffer();
};

/** A PNG whose header says `width`×`height` and whose data is one empty row: cheap to make, huge to decode. */
function pngClaiming(width: number, height: number): Buffer {
  const crc = (b: Buffer): number => {
    let c = ~0;
    for (const byte of b) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function code(upload: Buffer): Promise<string> {
  try {
    await screenshotOf(upload);
  } catch (err) {
    assert.ok(isVigilError(err), String(err));
    return err.code;
  }
  return 'accepted';
}

describe('screenshot uploads', () => {
  const bad: Array<[string, () => Promise<Buffer> | Buffer, string]> = [
    ['empty', () => Buffer.alloc(0), 'IMAGE_INVALID'],
    ['text', () => Buffer.from('hello, this is not an image'), 'IMAGE_INVALID'],
    [
      'an SVG (libvips would render it)',
      () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      'IMAGE_INVALID',
    ],
    [
      'a PNG signature and nothing else',
      () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      'IMAGE_INVALID',
    ],
    ['a truncated PNG', async () => (await scene('png')).subarray(0, 60), 'IMAGE_INVALID'],
    [
      'a truncated JPEG',
      async () => {
        const jpeg = await scene('jpeg');
        return jpeg.subarray(0, Math.floor(jpeg.length / 2));
      },
      'IMAGE_INVALID',
    ],
    ['a WebP', () => scene('webp'), 'UNSUPPORTED_MEDIA_TYPE'],
    ['a GIF', () => scene('gif'), 'UNSUPPORTED_MEDIA_TYPE'],
    ['a PNG claiming 20000×20000 pixels', () => pngClaiming(20_000, 20_000), 'IMAGE_TOO_LARGE'],
  ];
  for (const [name, make, expected] of bad) {
    test(`${name} → ${expected}`, async () => assert.equal(await code(await make()), expected));
  }

  test('a PNG at the pixel bound is past the header check (its data decides)', async () => {
    assert.equal(SCREENSHOT_LIMITS.pixels, 7680 * 4320);
    assert.equal(await code(pngClaiming(7680, 4320)), 'IMAGE_INVALID');
  });

  test('a PNG stays PNG, pixel for pixel', async () => {
    const png = await scene('png');
    const shot = await screenshotOf(png);
    assert.equal(shot.format, 'png');
    assert.equal(shot.width, 64);
    assert.equal(shot.height, 48);
    const a = await sharp(png).raw().toBuffer();
    const b = await sharp(shot.image).raw().toBuffer();
    assert.ok(a.equals(b));
  });

  test('a JPEG is kept upright and without its metadata', async () => {
    // Orientation 6: the camera was turned; the stored picture is turned back (48×64).
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6, exif: { IFD0: { ImageDescription: 'till-7-back-office' } } })
      .toBuffer();
    assert.ok(jpeg.includes('till-7-back-office'));
    const shot = await screenshotOf(jpeg);
    assert.equal(shot.format, 'jpeg');
    assert.deepEqual([shot.width, shot.height], [48, 64]);
    assert.ok(!shot.image.includes('till-7-back-office'), 'metadata removed');
    const meta = await sharp(shot.image).metadata();
    assert.equal(meta.exif, undefined);
    assert.equal(meta.orientation, undefined);
  });
});
