import { VigilError, type ApiScreenshot, type PoolClient } from '../../schemas/mod.ts';
import type { CameraRow } from './cameras.repo.ts';
import { iso } from './context.ts';
import type { OverlayZone } from './overlay.ts';
import type { Screenshot, ScreenshotFormat } from './screenshot-image.ts';

/** The camera's zones as the overlay draws them, oldest first (later ones on top). */
export async function overlayZones(c: PoolClient, cameraId: string): Promise<OverlayZone[]> {
  const { rows } = await c.query<OverlayZone>(
    `SELECT name, kind, points, entrance FROM zones WHERE camera_id = $1 ORDER BY created_at, id`,
    [cameraId],
  );
  return rows;
}

interface ScreenshotRow {
  camera_id: string;
  format: ScreenshotFormat;
  width: number;
  height: number;
  bytes: number;
  uploaded_at: Date;
}

const META = 'camera_id, format, width, height, octet_length(image) AS bytes, uploaded_at';

function toApi(r: ScreenshotRow): ApiScreenshot {
  return {
    cameraId: r.camera_id,
    format: r.format,
    width: r.width,
    height: r.height,
    bytes: r.bytes,
    uploadedAt: iso(r.uploaded_at),
  };
}

/** The camera's stored screenshot, image and all; null when none was uploaded. */
export async function loadScreenshot(
  c: PoolClient,
  cameraId: string,
): Promise<(ApiScreenshot & { image: Buffer }) | null> {
  const { rows } = await c.query<ScreenshotRow & { image: Buffer }>(
    `SELECT ${META}, image FROM camera_screenshots WHERE camera_id = $1`,
    [cameraId],
  );
  const row = rows[0];
  return row ? { ...toApi(row), image: row.image } : null;
}

/** Store `shot` as the camera's screenshot, replacing any before it. */
export async function saveScreenshot(
  c: PoolClient,
  camera: CameraRow,
  shot: Screenshot,
): Promise<ApiScreenshot> {
  const { rows } = await c.query<ScreenshotRow>(
    `INSERT INTO camera_screenshots (camera_id, tenant_id, site_id, format, width, height, image)
     VALUES ($1, vigil_current_tenant(), $2, $3, $4, $5, $6)
     ON CONFLICT (camera_id) DO UPDATE
       SET format = EXCLUDED.format, width = EXCLUDED.width, height = EXCLUDED.height,
           image = EXCLUDED.image, uploaded_at = now()
     RETURNING ${META}`,
    [camera.id, camera.site_id, shot.format, shot.width, shot.height, shot.image],
  );
  return toApi(rows[0]!);
}

/** Remove the camera's screenshot; NOT_FOUND when it has none. */
export async function deleteScreenshot(c: PoolClient, cameraId: string): Promise<ApiScreenshot> {
  const { rows } = await c.query<ScreenshotRow>(
    `DELETE FROM camera_screenshots WHERE camera_id = $1 RETURNING ${META}`,
    [cameraId],
  );
  const row = rows[0];
  if (!row) throw new VigilError('NOT_FOUND', 'the camera has no screenshot');
  return toApi(row);
}
