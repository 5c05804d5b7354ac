import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCENES, writeSceneVideo, type SceneName } from '../../actors/video/mod.ts';

/** Writes the named scenes as H.264 files in a fresh temporary folder. */
export async function sceneVideos(
  names: readonly SceneName[],
): Promise<{ dir: string; path: (n: SceneName) => string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-video-'));
  const path = (n: SceneName): string => join(dir, `${n}.mkv`);
  for (const n of names) await writeSceneVideo(SCENES[n], path(n));
  return { dir, path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export function boxIou(a: Box, b: Box): number {
  const ix = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const iy = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

/** Normalised box → frame pixels. */
export const toPixels = (b: Box, w: number, h: number): Box => ({
  x1: b.x1 * w,
  y1: b.y1 * h,
  x2: b.x2 * w,
  y2: b.y2 * h,
});
