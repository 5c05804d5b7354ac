import { selfIntersects, type Point } from './geometry.ts';
import type { ZoneKind } from './zones.ts';

export type ZoneShapeProblem =
  | { code: 'ZONE_TOO_FEW_POINTS'; reason: string }
  | { code: 'ZONE_OUTSIDE_IMAGE'; reason: string }
  | { code: 'ZONE_SELF_INTERSECTING'; reason: string };

/**
 * Why a zone's points cannot be used, or null. An area or product zone is a simple polygon of
 * at least three points; a line is exactly two distinct points; every point lies in the
 * normalised image (0..1). Polygons whose edges cross have no well-defined inside, and a
 * polygon of collinear points encloses nothing: both are refused as self-intersecting.
 */
export function zoneShapeProblem(kind: ZoneKind, points: readonly Point[]): ZoneShapeProblem | null {
  if (kind === 'line' ? points.length !== 2 : points.length < 3)
    return {
      code: 'ZONE_TOO_FEW_POINTS',
      reason:
        kind === 'line'
          ? `a line zone has exactly 2 points, got ${points.length}`
          : `a ${kind} zone needs at least 3 points, got ${points.length}`,
    };
  for (const [i, [x, y]] of points.entries())
    if (!(Number.isFinite(x) && Number.isFinite(y) && x >= 0 && x <= 1 && y >= 0 && y <= 1))
      return { code: 'ZONE_OUTSIDE_IMAGE', reason: `point ${i} (${x}, ${y}) is outside 0..1` };
  if (kind === 'line') {
    const [a, b] = points as [Point, Point];
    return a[0] === b[0] && a[1] === b[1]
      ? { code: 'ZONE_TOO_FEW_POINTS', reason: 'the two points of a line are the same point' }
      : null;
  }
  if (selfIntersects(points))
    return { code: 'ZONE_SELF_INTERSECTING', reason: 'two edges of the polygon cross' };
  if (Math.abs(area(points)) < 1e-9)
    return {
      code: 'ZONE_SELF_INTERSECTING',
      reason: 'the polygon encloses no area (its points are collinear)',
    };
  return null;
}

/** Shoelace formula: signed area. */
function area(points: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    s += x1 * y2 - x2 * y1;
  }
  return s / 2;
}
