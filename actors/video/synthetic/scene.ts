/**
 * Synthetic retail scenes with exact ground truth. People are upright shapes (body and head in
 * one shirt colour) moving along keyframed paths; the renderer draws them back to front, so a
 * person nearer the camera (lower on screen) hides whoever is behind. Everything a test needs to
 * judge the pipeline — each person's box at any instant and how much of it is visible — is
 * computed from the same description the renderer draws.
 */
export type ShirtColour = 'red' | 'green' | 'blue';

/** Bottom-centre of a person (feet), in frame pixels, at scene time `t` seconds. */
export interface Keyframe {
  t: number;
  x: number;
  y: number;
}

export interface ScenePerson {
  id: number;
  colour: ShirtColour;
  /** Body width and full height (head included) in pixels. */
  width: number;
  height: number;
  /** Present from the first keyframe's time to the last one's; linear in between. */
  path: readonly Keyframe[];
}

export interface SceneRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Scene {
  name: string;
  width: number;
  height: number;
  fps: number;
  /** Seconds. */
  duration: number;
  people: readonly ScenePerson[];
  /** Static furniture (shelves, coolers) drawn under the people. */
  shelves: readonly SceneRect[];
}

export interface TruthBox {
  id: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Share of the box not hidden by people in front, 0..1. */
  visible: number;
}

export const SHIRT_RGB: Record<ShirtColour, readonly [number, number, number]> = {
  red: [220, 40, 40],
  green: [30, 200, 40],
  blue: [40, 50, 230],
};

function positionAt(path: readonly Keyframe[], t: number): { x: number; y: number } | null {
  const first = path[0];
  const last = path[path.length - 1];
  if (!first || !last || t < first.t || t > last.t) return null;
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1]!;
    const b = path[i]!;
    if (t <= b.t) {
      const f = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
      return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
    }
  }
  return { x: last.x, y: last.y };
}

interface Outline {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** The person's whole outline at `t` (may reach outside the frame); null when absent. */
export function outlineAt(p: ScenePerson, t: number): Outline | null {
  const at = positionAt(p.path, t);
  if (!at) return null;
  return {
    x1: Math.round(at.x - p.width / 2),
    y1: Math.round(at.y - p.height),
    x2: Math.round(at.x + p.width / 2),
    y2: Math.round(at.y),
  };
}

/** The person's outline at `t`, clipped to the frame; null when absent or wholly outside. */
export function personBox(scene: Scene, p: ScenePerson, t: number): Omit<TruthBox, 'visible'> | null {
  const o = outlineAt(p, t);
  if (!o) return null;
  const x1 = Math.max(0, o.x1);
  const x2 = Math.min(scene.width, o.x2);
  const y1 = Math.max(0, o.y1);
  const y2 = Math.min(scene.height, o.y2);
  if (x2 - x1 < 2 || y2 - y1 < 2) return null;
  return { id: p.id, x1, y1, x2, y2 };
}

/** Head is the top fifth, half the body's width, centred. */
export function headHeight(p: ScenePerson): number {
  return Math.round(p.height / 5);
}

/** People present at `t`, back to front (drawing order: larger feet y is nearer the camera). */
export function peopleAt(
  scene: Scene,
  t: number,
): Array<{ person: ScenePerson; box: Omit<TruthBox, 'visible'> }> {
  const out: Array<{ person: ScenePerson; box: Omit<TruthBox, 'visible'> }> = [];
  for (const person of scene.people) {
    const box = personBox(scene, person, t);
    if (box) out.push({ person, box });
  }
  return out.sort((a, b) => a.box.y2 - b.box.y2 || a.person.id - b.person.id);
}

/** Ground truth at `t`: every present person's box and the share of it left visible. */
export function groundTruth(scene: Scene, t: number): TruthBox[] {
  const present = peopleAt(scene, t);
  return present.map(({ box }, i) => {
    const area = (box.x2 - box.x1) * (box.y2 - box.y1);
    // Visible share by sampling a coarse grid: exact enough to decide "mostly hidden".
    let seen = 0;
    let total = 0;
    const step = 2;
    for (let y = box.y1; y < box.y2; y += step) {
      for (let x = box.x1; x < box.x2; x += step) {
        total++;
        const hidden = present
          .slice(i + 1)
          .some(({ box: f }) => x >= f.x1 && x < f.x2 && y >= f.y1 && y < f.y2);
        if (!hidden) seen++;
      }
    }
    return { ...box, visible: area > 0 && total > 0 ? seen / total : 0 };
  });
}

export function frameCount(scene: Scene): number {
  return Math.round(scene.duration * scene.fps);
}
