import sharp from 'sharp';
import { VigilError, type ApiZoneKind, type CameraTracksView, type ZonePoints } from '../../schemas/mod.ts';

/**
 * A camera's zones and live boxes drawn on one of its frames, for zone editing and the
 * dashboard's camera panel. The drawing is one SVG the size of the frame (built here, a pure
 * function of the frame size, zones and boxes), laid over the frame and encoded by libvips
 * (sharp) — native code, off the event loop.
 */
export interface OverlayZone {
  name: string;
  kind: ApiZoneKind;
  points: ZonePoints;
  entrance: boolean;
}

export interface OverlayBox {
  trackId: number;
  /** Normalised to the frame, 0..1. */
  box: { x1: number; y1: number; x2: number; y2: number };
}

/** One colour per zone kind, and one for people; saturated, so they read on any scene. */
export const OVERLAY_COLOURS = {
  area: '#00e5ff',
  product: '#ffb300',
  line: '#ff2d95',
  track: '#76ff03',
} as const;

/** Longest label drawn, in characters. */
const LABEL_CHARS = 40;

/**
 * Text as XML character data: markup escaped, and characters XML 1.0 cannot hold (C0 controls,
 * lone surrogates, U+FFFE/U+FFFF) dropped — a zone name is user input, and one such character
 * would make the whole overlay unreadable to the SVG parser.
 */
export function xmlText(text: string): string {
  return [...text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')]
    .slice(0, LABEL_CHARS)
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const n = (v: number): string => String(Math.round(v * 10) / 10);

/** The confirmed tracks matched in the actor's latest frame: the people it sees now. */
export function liveBoxes(view: CameraTracksView): OverlayBox[] {
  const { lastTs, tracks } = view.tracker;
  if (lastTs === null) return [];
  return tracks
    .filter((t) => t.status === 'confirmed' && t.lastSeen === lastTs)
    .map((t) => ({ trackId: t.id, box: t.box }));
}

/** The SVG drawn over a `width`×`height` frame: zones (labelled, lines with their "in" side) and boxes. */
export function overlaySvg(
  width: number,
  height: number,
  zones: readonly OverlayZone[],
  boxes: readonly OverlayBox[],
): string {
  // Sizes follow the frame: what reads at 360 lines reads at 2160.
  const unit = Math.max(1, Math.min(width, height) / 360);
  const stroke = Math.max(2, Math.round(2 * unit));
  const font = Math.max(11, Math.round(12 * unit));
  const x = (v: number): number => v * width;
  const y = (v: number): number => v * height;
  const out: string[] = [];
  const label = (text: string, lx: number, ly: number, colour: string): void => {
    const body = xmlText(text);
    const chars = [...text].slice(0, LABEL_CHARS).length;
    const w = chars * font * 0.62 + font * 0.6;
    const h = font * 1.35;
    // Kept inside the frame, so a label at an edge still reads.
    const left = Math.min(Math.max(0, lx), Math.max(0, width - w));
    const top = Math.min(Math.max(0, ly - h), Math.max(0, height - h));
    out.push(
      `<rect x="${n(left)}" y="${n(top)}" width="${n(w)}" height="${n(h)}" fill="#000" fill-opacity="0.65" stroke="${colour}" stroke-width="1"/>`,
      `<text x="${n(left + font * 0.3)}" y="${n(top + font * 1.02)}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${font}" fill="#fff">${body}</text>`,
    );
  };
  for (const z of zones) {
    const colour = OVERLAY_COLOURS[z.kind];
    const pts = z.points.map(([px, py]) => [x(px), y(py)] as const);
    if (pts.length === 0) continue;
    if (z.kind === 'line' && pts.length === 2) {
      const [a, b] = pts as [readonly [number, number], readonly [number, number]];
      out.push(
        `<line x1="${n(a[0])}" y1="${n(a[1])}" x2="${n(b[0])}" y2="${n(b[1])}" stroke="${colour}" stroke-width="${stroke + 1}" stroke-linecap="round"/>`,
      );
      // Crossing to the right of A→B is "in" (y down): the arrow points to that side.
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len = Math.hypot(dx, dy) || 1;
      const [nx, ny] = [-dy / len, dx / len];
      const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const reach = 8 * stroke;
      const [tx, ty] = [mx + nx * reach, my + ny * reach];
      const head = 3 * stroke;
      out.push(
        `<line x1="${n(mx)}" y1="${n(my)}" x2="${n(tx)}" y2="${n(ty)}" stroke="${colour}" stroke-width="${stroke}"/>`,
        `<polygon points="${n(tx + nx * head)},${n(ty + ny * head)} ${n(tx - ny * head)},${n(ty + nx * head)} ${n(tx + ny * head)},${n(ty - nx * head)}" fill="${colour}"/>`,
      );
      label(`${z.name}${z.entrance ? ' (entrance)' : ''}`, a[0], a[1] - stroke, colour);
      continue;
    }
    out.push(
      `<polygon points="${pts.map(([px, py]) => `${n(px)},${n(py)}`).join(' ')}" fill="${colour}" fill-opacity="0.15" stroke="${colour}" stroke-width="${stroke}" stroke-linejoin="round"/>`,
    );
    const top = pts.reduce((best, p) => (p[1] < best[1] || (p[1] === best[1] && p[0] < best[0]) ? p : best));
    label(z.name, top[0], top[1] - stroke, colour);
  }
  for (const { trackId, box } of boxes) {
    const [x1, y1, x2, y2] = [x(box.x1), y(box.y1), x(box.x2), y(box.y2)];
    out.push(
      `<rect x="${n(x1)}" y="${n(y1)}" width="${n(Math.max(1, x2 - x1))}" height="${n(Math.max(1, y2 - y1))}" fill="none" stroke="${OVERLAY_COLOURS.track}" stroke-width="${stroke}"/>`,
    );
    label(`#${trackId}`, x1, y1 - stroke, OVERLAY_COLOURS.track);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${out.join('')}</svg>`;
}

export type OverlayFormat = 'jpeg' | 'png';

/** `image` (JPEG or PNG) with the zones and boxes drawn on it, encoded as `format`. */
export async function renderOverlay(
  image: Buffer,
  zones: readonly OverlayZone[],
  boxes: readonly OverlayBox[],
  format: OverlayFormat,
): Promise<Buffer> {
  const frame = sharp(image, { failOn: 'error' });
  const { width, height } = await frame.metadata();
  if (!width || !height) throw new VigilError('INTERNAL', 'the frame has no size');
  const drawn = frame.composite([
    { input: Buffer.from(overlaySvg(width, height, zones, boxes)), left: 0, top: 0 },
  ]);
  return format === 'png' ? drawn.png().toBuffer() : drawn.jpeg({ quality: 85 }).toBuffer();
}
