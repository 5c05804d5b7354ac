import sharp from 'sharp';
import { SCREENSHOT_LIMITS, VigilError } from '../../schemas/mod.ts';

export type ScreenshotFormat = 'jpeg' | 'png';

export interface Screenshot {
  /** Re-encoded: orientation applied, metadata (EXIF, GPS, ICC, comments) dropped. */
  image: Buffer;
  format: ScreenshotFormat;
  width: number;
  height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * What the bytes are, from their signature. Only JPEG and PNG ever reach a decoder: libvips
 * reads many more formats (SVG, TIFF, HEIF, PDF…), and an upload has no business exercising them.
 */
function signature(bytes: Buffer): ScreenshotFormat | 'other' | 'none' {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  // GIF, WebP, BMP, TIFF: images, of a kind we do not take.
  if (/^(GIF8|RIFF|BM|II\*\0|MM\0\*)/.test(bytes.subarray(0, 4).toString('latin1'))) return 'other';
  return 'none';
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/**
 * An uploaded screenshot, checked by decoding it, whatever its content type said: the format
 * from its signature, the size from its header (refused before decoding when past the pixel
 * bound, so a small file that would inflate to gigabytes costs nothing), then a full decode
 * that fails on any corrupt or truncated data, re-encoded in the same format.
 */
export async function screenshotOf(upload: Buffer): Promise<Screenshot> {
  const format = signature(upload);
  if (format === 'other')
    throw new VigilError('UNSUPPORTED_MEDIA_TYPE', 'screenshots are JPEG or PNG images');
  if (format === 'none')
    throw new VigilError('IMAGE_INVALID', 'the upload is neither a JPEG nor a PNG image');
  let width: number | undefined;
  let height: number | undefined;
  try {
    // The header alone, whatever size it claims: the bound is checked below, with its own code.
    ({ width, height } = await sharp(upload, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new VigilError('IMAGE_INVALID', `the ${format.toUpperCase()} header does not read: ${reason(err)}`);
  }
  if (!width || !height) throw new VigilError('IMAGE_INVALID', 'the image has no size');
  if (width * height > SCREENSHOT_LIMITS.pixels)
    throw new VigilError(
      'IMAGE_TOO_LARGE',
      `a ${width}×${height} image is more than ${SCREENSHOT_LIMITS.pixels} pixels`,
      { details: { width, height, maxPixels: SCREENSHOT_LIMITS.pixels } },
    );
  try {
    const decoded = sharp(upload, { failOn: 'warning', limitInputPixels: SCREENSHOT_LIMITS.pixels }).rotate();
    const { data, info } = await (format === 'png' ? decoded.png() : decoded.jpeg({ quality: 90 })).toBuffer({
      resolveWithObject: true,
    });
    return { image: data, format, width: info.width, height: info.height };
  } catch (err) {
    throw new VigilError(
      'IMAGE_INVALID',
      `the ${format.toUpperCase()} image does not decode: ${reason(err)}`,
    );
  }
}
