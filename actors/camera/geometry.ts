/** Plane geometry on normalised image coordinates (0..1, y down). */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export type Point = readonly [x: number, y: number];

export function iou(a: Box, b: Box): number {
  const ix = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const iy = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Where a person stands: the bottom-centre of the box (feet), what zone membership uses. */
export function anchor(b: Box): Point {
  return [(b.x1 + b.x2) / 2, b.y2];
}

export function centre(b: Box): Point {
  return [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2];
}

/** Even-odd rule; points on an edge count as inside half the time, which inertia absorbs. */
export function pointInPolygon(p: Point, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Signed side of p relative to the directed line a→b (positive: right-hand side in image space). */
export function side(a: Point, b: Point, p: Point): number {
  return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

/** Parameter t in [0,1] along p→q where it crosses segment a–b, or null if it does not. */
export function crossingAt(p: Point, q: Point, a: Point, b: Point): number | null {
  const d = (q[0] - p[0]) * (b[1] - a[1]) - (q[1] - p[1]) * (b[0] - a[0]);
  if (d === 0) return null;
  const t = ((a[0] - p[0]) * (b[1] - a[1]) - (a[1] - p[1]) * (b[0] - a[0])) / d;
  const u = ((a[0] - p[0]) * (q[1] - p[1]) - (a[1] - p[1]) * (q[0] - p[0])) / d;
  return t >= 0 && t <= 1 && u >= 0 && u <= 1 ? t : null;
}

function segmentsIntersect(a: Point, b: Point, c: Point, d: Point): boolean {
  return crossingAt(a, b, c, d) !== null;
}

/** A polygon whose non-adjacent edges cross is refused: its inside is not well defined. */
export function selfIntersects(poly: readonly Point[]): boolean {
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsIntersect(poly[i]!, poly[(i + 1) % n]!, poly[j]!, poly[(j + 1) % n]!)) return true;
    }
  }
  return false;
}
