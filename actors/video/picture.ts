import sharp from 'sharp';
import { FilterAPI } from 'node-av/api';
import type { Frame } from 'node-av/lib';

/** A frame as a picture: JPEG bytes, the picture's size, and when the frame was taken. */
export interface Picture {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Epoch ms of the frame. */
  at: number;
}

/** JPEG qualities, then scales, tried in turn until a picture fits the bound (a NATS payload). */
const ATTEMPTS: ReadonlyArray<{ quality: number; scale: number }> = [
  { quality: 85, scale: 1 },
  { quality: 70, scale: 1 },
  { quality: 50, scale: 1 },
  { quality: 70, scale: 0.5 },
  { quality: 50, scale: 0.25 },
];

/**
 * Packed RGB (width × height × 3) → JPEG of at most `maxBytes`, in libvips (sharp) on libuv's
 * threads, never the event loop. Most frames fit at the first quality; a large, detailed one
 * loses quality first and size last.
 */
export async function encodeJpeg(
  rgb: Buffer,
  width: number,
  height: number,
  maxBytes: number,
): Promise<{ jpeg: Buffer; width: number; height: number }> {
  for (const { quality, scale } of ATTEMPTS) {
    let image = sharp(rgb, { raw: { width, height, channels: 3 } });
    if (scale < 1) image = image.resize(Math.max(1, Math.round(width * scale)));
    const { data, info } = await image.jpeg({ quality }).toBuffer({ resolveWithObject: true });
    if (data.length <= maxBytes) return { jpeg: data, width: info.width, height: info.height };
  }
  throw new RangeError(`a ${width}×${height} frame does not fit ${maxBytes} bytes as JPEG`);
}

/** Converts a decoded frame (any pixel format) to packed RGB natively (an FFmpeg filter). */
async function toRgb(frame: Frame): Promise<{ rgb: Buffer; width: number; height: number }> {
  const filter = FilterAPI.create('format=rgb24');
  try {
    const out = await filter.processAll(frame);
    try {
      const f = out[0];
      const plane = f?.data?.[0];
      const stride = f?.linesize[0];
      if (!f || !plane || stride === undefined) throw new Error('the frame did not convert to RGB');
      const { width, height } = f;
      const row = width * 3;
      // A copy, row by row: FFmpeg pads rows, and the frame's memory is freed below.
      const rgb = Buffer.allocUnsafe(row * height);
      for (let y = 0; y < height; y++) plane.copy(rgb, y * row, y * stride, y * stride + row);
      return { rgb, width, height };
    } finally {
      for (const f of out) f.free();
    }
  } finally {
    filter.close();
  }
}

/**
 * A camera's most recent sampled frame, kept as FFmpeg holds it — a new reference to the
 * decoder's buffers, no copy, no conversion — until someone asks for a picture of it. Asking
 * converts and encodes that one frame (RGB in FFmpeg, JPEG in libvips); every ask for the same
 * frame shares one encode, so a dashboard of viewers costs one encode per frame, and a camera
 * nobody looks at costs nothing. `clear()` when the session ends: no live frame, no memory held.
 */
export class LatestPicture {
  #frame: Frame | null = null;
  #at = 0;
  #encoded: { at: number; picture: Promise<Picture> } | null = null;

  constructor(private readonly maxBytes: number) {}

  /** Keep `frame` (taken at epoch ms `at`) as the latest; the previous one is released. */
  hold(frame: Frame, at: number): void {
    const ref = frame.clone();
    if (!ref) return;
    this.#frame?.free();
    this.#frame = ref;
    this.#at = at;
  }

  clear(): void {
    this.#frame?.free();
    this.#frame = null;
    this.#encoded = null;
  }

  get held(): boolean {
    return this.#frame !== null;
  }

  /** A JPEG of the latest frame; null when none is held. */
  picture(): Promise<Picture> | null {
    if (!this.#frame) return null;
    const at = this.#at;
    if (this.#encoded?.at === at) return this.#encoded.picture;
    // Its own reference: the held frame may be replaced (and freed) while this one converts.
    const own = this.#frame.clone();
    if (!own) return null;
    const picture = toRgb(own)
      .finally(() => own.free())
      .then(async ({ rgb, width, height }) => ({
        ...(await encodeJpeg(rgb, width, height, this.maxBytes)),
        at,
      }));
    const entry = { at, picture };
    this.#encoded = entry;
    picture.catch(() => {
      // A failed encode is not remembered: the next ask tries again.
      if (this.#encoded === entry) this.#encoded = null;
    });
    return picture;
  }
}
