import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { iou } from '../../actors/camera/mod.ts';
import {
  buildShapeDetector,
  DetectorPool,
  SCENES,
  writeSceneVideo,
  type SceneName,
} from '../../actors/video/mod.ts';

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

export const boxIou = iou;

/** Normalised box → frame pixels. */
export const toPixels = (b: Box, w: number, h: number): Box => ({
  x1: b.x1 * w,
  y1: b.y1 * h,
  x2: b.x2 * w,
  y2: b.y2 * h,
});

export interface DetectorFixture {
  videos: Awaited<ReturnType<typeof sceneVideos>>;
  pool: DetectorPool;
}

/**
 * Registers before/after hooks that write the scenes and start a two-worker pool with the
 * generated detector loaded as 'shape'; the returned object is filled in before the tests run.
 */
export function detectorFixture(names: readonly SceneName[], inputSize: number): DetectorFixture {
  const fixture = {} as DetectorFixture;
  before(async () => {
    fixture.videos = await sceneVideos(names);
    fixture.pool = new DetectorPool({ size: 2 });
    await fixture.pool.load('shape', buildShapeDetector({ inputSize }));
  });
  after(async () => {
    await fixture.pool?.close();
    await fixture.videos?.cleanup();
  });
  return fixture;
}
