import { headHeight, outlineAt, peopleAt, SHIRT_RGB, type Scene } from './scene.ts';

const FLOOR = 128;
const TILE_LINE = 112;
const SHELF_RGB = [130, 100, 70] as const;

function fillRect(
  buf: Buffer,
  width: number,
  height: number,
  r: { x1: number; y1: number; x2: number; y2: number },
  rgb: readonly [number, number, number],
): void {
  const x1 = Math.max(0, Math.round(r.x1));
  const x2 = Math.min(width, Math.round(r.x2));
  const y1 = Math.max(0, Math.round(r.y1));
  const y2 = Math.min(height, Math.round(r.y2));
  for (let y = y1; y < y2; y++) {
    let o = (y * width + x1) * 3;
    for (let x = x1; x < x2; x++) {
      buf[o++] = rgb[0];
      buf[o++] = rgb[1];
      buf[o++] = rgb[2];
    }
  }
}

/**
 * One RGB24 frame of the scene at time `t`: a tiled floor, the shelves, then the people back to
 * front. Test-asset code: it runs when videos are generated, never in the analysis pipeline.
 */
export function renderFrame(scene: Scene, t: number, out?: Buffer): Buffer {
  const { width, height } = scene;
  const buf = out ?? Buffer.alloc(width * height * 3);
  buf.fill(FLOOR);
  for (let y = 40; y < height; y += 40)
    fillRect(buf, width, height, { x1: 0, y1: y, x2: width, y2: y + 1 }, [TILE_LINE, TILE_LINE, TILE_LINE]);
  for (const s of scene.shelves)
    fillRect(buf, width, height, { x1: s.x, y1: s.y, x2: s.x + s.w, y2: s.y + s.h }, SHELF_RGB);
  for (const { person } of peopleAt(scene, t)) {
    // The unclipped outline: a clipped box would shift the head of someone half out of frame.
    const box = outlineAt(person, t);
    if (!box) continue;
    const rgb = SHIRT_RGB[person.colour];
    const head = headHeight(person);
    const cx = (box.x1 + box.x2) / 2;
    fillRect(
      buf,
      width,
      height,
      { x1: cx - person.width / 4, y1: box.y1, x2: cx + person.width / 4, y2: box.y1 + head },
      rgb,
    );
    fillRect(buf, width, height, { x1: box.x1, y1: box.y1 + head, x2: box.x2, y2: box.y2 }, rgb);
  }
  return buf;
}
