import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildShapeDetector, writeSceneVideo } from '../../actors/video/mod.ts';
import { CAMERA_FIELDS, CAMERAS, insertCamera, insertZone } from '../../gateway/admin/mod.ts';
import { createPool, withTenant, type Config, type Logger, type PoolClient } from '../../schemas/mod.ts';
import { rtspPort, startRtspServer, type RtspServer } from '../rtsp/rtsp.ts';
import { DEMO_SITES } from './seed.ts';
import { DEMO_CAMERAS, DEMO_DETECT, type DemoCameraSpec } from './store-cameras.ts';

/** What the demo cameras are made of: the generated detector and one video per camera. */
export interface DemoCameraAssets {
  model: string;
  /** RTSP mount → H.264 Matroska file of its scene. */
  videos: Record<string, string>;
}

const digest = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex').slice(0, 12);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Written under a temporary name and renamed: an interrupted first start leaves no half file to reuse. */
async function writeOnce(path: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  if (await exists(path)) return;
  // Same extension as the target: the muxer picks the container from it.
  const tmp = join(path, '..', `.partial-${process.pid}-${basename(path)}`);
  try {
    await write(tmp);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * The detector (actors/video/onnx, built in code) and each camera's scene rendered to video, in
 * `dir`: made on the first start, reused after. File names carry a digest of what they were made
 * from, so a changed scene or detector is made again, and files no camera uses any more go.
 */
export async function prepareDemoCameraAssets(
  dir: string,
  cameras: readonly DemoCameraSpec[] = DEMO_CAMERAS,
): Promise<DemoCameraAssets> {
  await mkdir(dir, { recursive: true });
  const bytes = buildShapeDetector({ inputSize: DEMO_DETECT.inputSize });
  const model = join(dir, `detector-${DEMO_DETECT.inputSize}-${digest(bytes)}.onnx`);
  await writeOnce(model, (tmp) => writeFile(tmp, bytes));
  const videos: Record<string, string> = {};
  for (const c of cameras) {
    const video = join(dir, `${c.mount}-${digest(JSON.stringify(c.scene))}.mkv`);
    await writeOnce(video, (tmp) => writeSceneVideo(c.scene, tmp));
    videos[c.mount] = video;
  }
  const keep = new Set([model, ...Object.values(videos)].map((p) => basename(p)));
  for (const name of await readdir(dir)) if (!keep.has(name)) await rm(join(dir, name), { force: true });
  return { model, videos };
}

/** Where the demo cameras point. */
export interface DemoCameraSource {
  url(mount: string): string;
  /** Null: the camera node's default model (the demo's cameras are idle then anyway). */
  model: string | null;
  /** False when there is no RTSP server this time: the cameras stay, idle, raising no alerts. */
  enabled: boolean;
}

export interface DemoCamera {
  id: string;
  name: string;
  siteId: string;
  /** The spec's site index. */
  site: number;
  mount: string;
  /** Zone name → id. */
  zones: Record<string, string>;
}

/**
 * The demo cameras in the caller's tenant transaction, through the repository the cameras and
 * zones API writes with: created with their zones when missing (found by site and name), else
 * pointed at `source` again. Zones are only ever created with their camera: once there, they are
 * the user's to edit. `siteIds` are the sites the specs' `site` indexes (none: no camera there).
 */
export async function ensureDemoCameras(
  c: PoolClient,
  siteIds: ReadonlyArray<string | undefined>,
  source: DemoCameraSource,
  cameras: readonly DemoCameraSpec[] = DEMO_CAMERAS,
): Promise<DemoCamera[]> {
  const out: DemoCamera[] = [];
  for (const spec of cameras) {
    const siteId = siteIds[spec.site];
    if (siteId === undefined) continue;
    const settings = {
      sourceUrl: source.url(spec.mount),
      modelPath: source.model,
      enabled: source.enabled,
      ...DEMO_DETECT,
    };
    const { rows } = await c.query<{ id: string }>(
      'SELECT id FROM cameras WHERE site_id = $1 AND name = $2',
      [siteId, spec.name],
    );
    const id =
      rows[0] === undefined
        ? (await insertCamera(c, { siteId, name: spec.name, ...settings })).id
        : (await CAMERAS.update(c, rows[0].id, settings, CAMERA_FIELDS)).id;
    const zones = await c.query<{ id: string; name: string }>(
      'SELECT id, name FROM zones WHERE camera_id = $1',
      [id],
    );
    if (zones.rows.length === 0)
      for (const z of spec.zones) zones.rows.push(await insertZone(c, { cameraId: id, ...z }));
    out.push({
      id,
      name: spec.name,
      siteId,
      site: spec.site,
      mount: spec.mount,
      zones: Object.fromEntries(zones.rows.map((z) => [z.name, z.id])),
    });
  }
  return out;
}

export interface DemoCameras {
  cameras: DemoCamera[];
  /** Null when the RTSP server could not start (`problem` says why): the cameras stay idle. */
  rtsp: RtspServer | null;
  problem: string | null;
  stop(): Promise<void>;
}

/**
 * The demo's cameras, before the actor node starts (it picks them up from the database): the
 * assets under `VIGIL_HOME/demo-cameras`, Debian's GStreamer RTSP server playing each scene in a
 * loop, and the cameras seeded at the demo's sites. The RTSP server is a nicety, never a blocker:
 * without it (packages missing and not root) the rest of the demo runs.
 */
export async function startDemoCameras(config: Config, log: Logger, tenantId: string): Promise<DemoCameras> {
  let model: string | null = null;
  let rtsp: RtspServer | null = null;
  let problem: string | null = null;
  try {
    const assets = await prepareDemoCameraAssets(join(config.VIGIL_HOME, 'demo-cameras'));
    model = assets.model;
    rtsp = await startRtspServer({ mounts: assets.videos, loop: true });
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
    log.warn({ err }, 'demo cameras: no RTSP server, the cameras stay idle');
  }
  const source: DemoCameraSource = {
    url: (mount) => `rtsp://127.0.0.1:${rtsp?.port ?? rtspPort()}/${mount}`,
    model,
    enabled: rtsp !== null,
  };
  const pool = createPool(config, 'app', 1);
  try {
    const cameras = await withTenant(pool, { tenantId }, async (c) => {
      // By name: the demo's sites as seed.ts made them (a site the user deleted has no camera).
      const { rows } = await c.query<{ id: string; name: string }>(
        'SELECT id, name FROM sites WHERE name = ANY($1)',
        [DEMO_SITES.map((s) => s.name)],
      );
      const siteIds = DEMO_SITES.map((s) => rows.find((r) => r.name === s.name)?.id);
      return ensureDemoCameras(c, siteIds, source);
    });
    return { cameras, rtsp, problem, stop: async () => rtsp?.stop() };
  } catch (err) {
    await rtsp?.stop();
    throw err;
  } finally {
    await pool.end();
  }
}
