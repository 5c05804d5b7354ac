import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { iou, type TrackerDetection } from '../../actors/camera/mod.ts';
import {
  buildShapeDetector,
  CameraVideo,
  DetectorPool,
  openVideo,
  SCENES,
  toFrame,
  writeSceneVideo,
  type DetectionsFrame,
  type SceneName,
  type VideoState,
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

/**
 * A scene's video through the generated detector ('shape', loaded by `detectorFixture`), frame
 * by frame: media time and the people found, boxes normalised to the frame.
 */
export async function* sceneDetections(
  fx: DetectorFixture,
  name: SceneName,
  opts: { size: number; fps: number; confidence: number },
): AsyncGenerator<{ pts: number; detections: TrackerDetection[] }> {
  for await (const f of openVideo({
    url: fx.videos.path(name),
    inputSize: opts.size,
    fps: opts.fps,
    readTimeoutMs: 5000,
  })) {
    const out = await fx.pool.detect(name, 'shape', {
      input: f.input,
      size: opts.size,
      decode: { confidence: opts.confidence, iou: 0.5, classes: [0] },
    });
    assert.equal(out.kind, 'detected');
    if (out.kind !== 'detected') return;
    yield {
      pts: f.pts,
      detections: out.detections.map((d) => ({
        box: toFrame(f.letterbox, d.x1, d.y1, d.x2, d.y2),
        score: d.score,
        appearance: d.appearance,
      })),
    };
  }
}

/**
 * A camera's video over `url` with the generated detector ('shape', loaded by `detectorFixture`),
 * 5 frames a second, quick to reconnect: what it delivered and every state it went through.
 */
export function shapeCamera(
  fx: DetectorFixture,
  url: string,
  opts: { size: number; readTimeoutMs: number },
): { cam: CameraVideo; frames: DetectionsFrame[]; states: Array<[VideoState, string | null]> } {
  const frames: DetectionsFrame[] = [];
  const states: Array<[VideoState, string | null]> = [];
  const cam = new CameraVideo({
    cameraId: 'rtsp',
    url,
    fps: 5,
    inputSize: opts.size,
    confidence: 0.5,
    modelKey: 'shape',
    pool: fx.pool,
    readTimeoutMs: opts.readTimeoutMs,
    backoffBaseMs: 200,
    random: () => 0.5,
    onFrame: (f) => frames.push(f),
    onState: (s, reason) => states.push([s, reason]),
  });
  return { cam, frames, states };
}
