import type { ApiCamera, ApiZone, ApiZoneKind, ZonePoints } from '../../schemas/mod.ts';
import { VigilError } from '../../schemas/mod.ts';
import { zoneShapeProblem } from '../../actors/camera/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { byId } from './route-kit.ts';

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
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const CAMERA_COLUMNS = `id, site_id, name, source_url, enabled, detect_fps, model_path, input_size, confidence,
  created_at, updated_at, ${timeKey('created_at')} AS _k`;
export const getCamera = byId<CameraRow>('cameras', CAMERA_COLUMNS, 'camera not found');

/** API field → column, for partial updates. */
export const CAMERA_FIELDS = {
  name: 'name',
  sourceUrl: 'source_url',
  enabled: 'enabled',
  detectFps: 'detect_fps',
  modelPath: 'model_path',
  inputSize: 'input_size',
  confidence: 'confidence',
} as const;

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
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const ZONE_COLUMNS = `id, camera_id, site_id, name, kind, points, entrance, inertia_frames, dwell_seconds,
  crowding_occupancy, crowding_seconds, created_at, updated_at, ${timeKey('created_at')} AS _k`;
export const getZone = byId<ZoneRow>('zones', ZONE_COLUMNS, 'zone not found');

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
        : { occupancy: r.crowding_occupancy, seconds: r.crowding_seconds },
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
  crowding: unknown;
}): void {
  const problem = zoneShapeProblem(z.kind, z.points);
  if (problem) throw new VigilError(problem.code, `body/points: ${problem.reason}`);
  if (z.entrance && z.kind !== 'line')
    throw new VigilError('VALIDATION_FAILED', 'body/entrance: only a line zone can be an entrance');
  if (z.dwellSeconds !== null && z.kind !== 'product')
    throw new VigilError('VALIDATION_FAILED', 'body/dwellSeconds: only product zones have a dwell threshold');
  if (z.crowding !== null && z.kind === 'line')
    throw new VigilError('VALIDATION_FAILED', 'body/crowding: a line has no occupancy');
}
