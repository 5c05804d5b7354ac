import type {
  ApiCamera,
  ApiZone,
  ApiZoneKind,
  CameraCreateBody,
  ZoneCreateBody,
  ZonePoints,
  ZoneUpdateBody,
} from '../../schemas/mod.ts';
import { VigilError, type PoolClient, type Severity } from '../../schemas/mod.ts';
import { zoneShapeProblem } from '../../actors/camera/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { Table } from './table.ts';

export interface CameraRow {
  id: string;
  site_id: string;
  name: string;
  source_url: string;
  enabled: boolean;
  detect_fps: number;
  model_path: string | null;
  input_size: number;
  confidence: number;
  offline_for_seconds: number;
  offline_clear_seconds: number;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const CAMERA_COLUMNS = `id, site_id, name, source_url, enabled, detect_fps, model_path, input_size, confidence,
  offline_for_seconds, offline_clear_seconds, created_at, updated_at, ${timeKey('created_at')} AS _k`;
export const CAMERAS = new Table<CameraRow>('cameras', CAMERA_COLUMNS, 'camera not found');
export const getCamera = CAMERAS.get;

/** API field → column, for partial updates. */
export const CAMERA_FIELDS = {
  name: 'name',
  sourceUrl: 'source_url',
  enabled: 'enabled',
  detectFps: 'detect_fps',
  modelPath: 'model_path',
  inputSize: 'input_size',
  confidence: 'confidence',
  offlineForSeconds: 'offline_for_seconds',
  offlineClearSeconds: 'offline_clear_seconds',
} as const;

/** The camera's site must be one the caller can see. */
export async function insertCamera(c: PoolClient, body: CameraCreateBody): Promise<CameraRow> {
  await assertSitesVisible(c, [body.siteId]);
  const { rows } = await c.query<CameraRow>(
    `INSERT INTO cameras (tenant_id, site_id, name, source_url, enabled, detect_fps, model_path, input_size, confidence,
                          offline_for_seconds, offline_clear_seconds)
     VALUES (vigil_current_tenant(), $1, $2, $3, COALESCE($4, true), COALESCE($5, 5), $6, COALESCE($7, 640), COALESCE($8, 0.25),
             COALESCE($9, 10), COALESCE($10, 5))
     RETURNING ${CAMERA_COLUMNS}`,
    [
      body.siteId,
      body.name,
      body.sourceUrl,
      body.enabled ?? null,
      body.detectFps ?? null,
      body.modelPath ?? null,
      body.inputSize ?? null,
      body.confidence ?? null,
      body.offlineForSeconds ?? null,
      body.offlineClearSeconds ?? null,
    ],
  );
  return rows[0]!;
}

export function cameraToApi(r: CameraRow): ApiCamera {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    sourceUrl: r.source_url,
    enabled: r.enabled,
    detectFps: r.detect_fps,
    modelPath: r.model_path,
    inputSize: r.input_size,
    confidence: r.confidence,
    offlineForSeconds: r.offline_for_seconds,
    offlineClearSeconds: r.offline_clear_seconds,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export interface ZoneRow {
  id: string;
  camera_id: string;
  site_id: string;
  name: string;
  kind: ApiZoneKind;
  points: ZonePoints;
  entrance: boolean;
  inertia_frames: number | null;
  dwell_seconds: number | null;
  crowding_occupancy: number | null;
  crowding_seconds: number | null;
  crowding_severity: Severity | null;
  crowding_clear_occupancy: number | null;
  crowding_clear_seconds: number | null;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const ZONE_COLUMNS = `id, camera_id, site_id, name, kind, points, entrance, inertia_frames, dwell_seconds,
  crowding_occupancy, crowding_seconds, crowding_severity, crowding_clear_occupancy, crowding_clear_seconds,
  created_at, updated_at, ${timeKey('created_at')} AS _k`;
export const ZONES = new Table<ZoneRow>('zones', ZONE_COLUMNS, 'zone not found');

export function zoneToApi(r: ZoneRow): ApiZone {
  return {
    id: r.id,
    cameraId: r.camera_id,
    siteId: r.site_id,
    name: r.name,
    kind: r.kind,
    points: r.points,
    entrance: r.entrance,
    inertiaFrames: r.inertia_frames,
    dwellSeconds: r.dwell_seconds,
    crowding:
      r.crowding_occupancy === null || r.crowding_seconds === null
        ? null
        : {
            occupancy: r.crowding_occupancy,
            seconds: r.crowding_seconds,
            // Options as they were set: unset ones take their defaults (warning, occupancy − 1, 0 s).
            ...(r.crowding_severity === null ? {} : { severity: r.crowding_severity }),
            ...(r.crowding_clear_occupancy === null ? {} : { clearOccupancy: r.crowding_clear_occupancy }),
            ...(r.crowding_clear_seconds === null ? {} : { clearSeconds: r.crowding_clear_seconds }),
          },
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** A zone as it will be stored must make sense as a whole: shape for its kind, options for its kind. */
export function assertZone(z: {
  kind: ApiZoneKind;
  points: ZonePoints;
  entrance: boolean;
  dwellSeconds: number | null;
  crowding: ApiZone['crowding'];
}): void {
  const problem = zoneShapeProblem(z.kind, z.points);
  if (problem) throw new VigilError(problem.code, `body/points: ${problem.reason}`);
  if (z.entrance && z.kind !== 'line')
    throw new VigilError('VALIDATION_FAILED', 'body/entrance: only a line zone can be an entrance');
  if (z.dwellSeconds !== null && z.kind !== 'product')
    throw new VigilError('VALIDATION_FAILED', 'body/dwellSeconds: only product zones have a dwell threshold');
  if (z.crowding !== null && z.kind === 'line')
    throw new VigilError('VALIDATION_FAILED', 'body/crowding: a line has no occupancy');
  const clearAt = z.crowding?.clearOccupancy;
  if (z.crowding && clearAt !== undefined && clearAt >= z.crowding.occupancy)
    throw new VigilError(
      'VALIDATION_FAILED',
      'body/crowding/clearOccupancy: must be below occupancy (it clears the crowding that occupancy raises)',
    );
}

/** The crowding columns of a zone as written (null: no crowding rule). */
function crowdingColumns(c: ApiZone['crowding']): Array<number | string | null> {
  return [
    c?.occupancy ?? null,
    c?.seconds ?? null,
    c?.severity ?? null,
    c?.clearOccupancy ?? null,
    c?.clearSeconds ?? null,
  ];
}

/** A zone of a camera the caller can see; it takes the camera's site. */
export async function insertZone(c: PoolClient, body: ZoneCreateBody): Promise<ZoneRow> {
  const zone = {
    kind: body.kind,
    points: body.points,
    entrance: body.entrance ?? false,
    dwellSeconds: body.dwellSeconds ?? null,
    crowding: body.crowding ?? null,
  };
  const camera = await getCamera(c, body.cameraId);
  assertZone(zone);
  const { rows } = await c.query<ZoneRow>(
    `INSERT INTO zones (tenant_id, site_id, camera_id, name, kind, points, entrance, inertia_frames,
                        dwell_seconds, crowding_occupancy, crowding_seconds, crowding_severity,
                        crowding_clear_occupancy, crowding_clear_seconds)
     VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     RETURNING ${ZONE_COLUMNS}`,
    [
      camera.site_id,
      camera.id,
      body.name,
      zone.kind,
      JSON.stringify(zone.points),
      zone.entrance,
      body.inertiaFrames ?? null,
      zone.dwellSeconds,
      ...crowdingColumns(zone.crowding),
    ],
  );
  return rows[0]!;
}

/** The zone as `body` changes it, checked as a whole and written whole. */
export async function updateZone(c: PoolClient, before: ZoneRow, body: ZoneUpdateBody): Promise<ZoneRow> {
  const after = { ...zoneToApi(before), ...body };
  assertZone(after);
  const { rows } = await c.query<ZoneRow>(
    `UPDATE zones SET name = $2, kind = $3, points = $4, entrance = $5, inertia_frames = $6, dwell_seconds = $7,
            crowding_occupancy = $8, crowding_seconds = $9, crowding_severity = $10,
            crowding_clear_occupancy = $11, crowding_clear_seconds = $12, updated_at = now()
     WHERE id = $1 RETURNING ${ZONE_COLUMNS}`,
    [
      before.id,
      after.name,
      after.kind,
      JSON.stringify(after.points),
      after.entrance,
      after.inertiaFrames,
      after.dwellSeconds,
      ...crowdingColumns(after.crowding),
    ],
  );
  return rows[0]!;
}
