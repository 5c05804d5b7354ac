import type { Pool, Severity } from '../../schemas/mod.ts';
import { fromPgError } from '../errors.ts';
import type { Point } from './geometry.ts';
import { zoneDefOf, type ZoneDef } from './zones.ts';

/**
 * What a camera actor reads from PostgreSQL (worker role, every tenant): its camera's site and
 * its zones. Zone rows become the pure zone code's `ZoneDef`s; `entrance` stays beside them
 * (it changes what an event means to a reader, not what the zone code does).
 */
export interface CameraSetup {
  tenantId: string;
  siteId: string;
  cameraId: string;
  zones: ZoneDef[];
  /** Line zones whose crossings are the site's footfall. */
  entrances: string[];
}

interface ZoneRow {
  site_id: string;
  zone_id: string | null;
  kind: ZoneDef['kind'] | null;
  points: Point[] | null;
  entrance: boolean | null;
  inertia_frames: number | null;
  dwell_seconds: number | null;
  crowding: {
    occupancy: number;
    seconds: number;
    severity: Severity | null;
    clearOccupancy: number | null;
    clearSeconds: number | null;
  } | null;
}

// One round trip: the camera row, left-joined with its zones in a stable order.
const SELECT = `SELECT c.site_id, z.id AS zone_id, z.kind, z.points, z.entrance, z.inertia_frames,
       z.dwell_seconds,
       CASE WHEN z.crowding_occupancy IS NOT NULL
            THEN jsonb_build_object('occupancy', z.crowding_occupancy, 'seconds', z.crowding_seconds,
                                    'severity', z.crowding_severity, 'clearOccupancy', z.crowding_clear_occupancy,
                                    'clearSeconds', z.crowding_clear_seconds) END AS crowding
  FROM cameras c LEFT JOIN zones z ON z.camera_id = c.id AND z.tenant_id = c.tenant_id
 WHERE c.tenant_id = $1 AND c.id = $2
 ORDER BY z.created_at, z.id`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The camera and its zones, or null when no such camera exists (deleted, or never was). */
export async function loadCameraSetup(
  pool: Pool,
  tenantId: string,
  cameraId: string,
): Promise<CameraSetup | null> {
  // A subject token that is no uuid names no camera; asking PostgreSQL would be a type error.
  if (!UUID.test(tenantId) || !UUID.test(cameraId)) return null;
  let rows: ZoneRow[];
  try {
    ({ rows } = await pool.query<ZoneRow>(SELECT, [tenantId, cameraId]));
  } catch (err) {
    throw fromPgError(err, 'loading a camera and its zones');
  }
  const first = rows[0];
  if (!first) return null;
  const zones: ZoneDef[] = [];
  const entrances: string[] = [];
  for (const r of rows) {
    if (r.zone_id === null || r.kind === null || r.points === null) continue;
    zones.push(
      zoneDefOf({
        id: r.zone_id,
        kind: r.kind,
        points: r.points,
        inertiaFrames: r.inertia_frames,
        dwellSeconds: r.dwell_seconds,
        crowding: r.crowding,
      }),
    );
    if (r.entrance) entrances.push(r.zone_id);
  }
  return { tenantId, siteId: first.site_id, cameraId, zones, entrances };
}
