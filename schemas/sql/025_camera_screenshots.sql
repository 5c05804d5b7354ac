-- A screenshot uploaded for a camera (SPEC §6, zone editing): the background of the camera's
-- snapshot and overlay while it has no live frame, so zones can be drawn on a camera that is not
-- streaming. One per camera; a new upload replaces it. Stored as the gateway re-encoded it
-- (orientation applied, metadata such as EXIF and GPS removed). It repeats the camera's site so
-- the policy needs no join, under the same row-level security as the camera: a site-restricted
-- user sees only its sites' screenshots.

CREATE TABLE camera_screenshots (
  camera_id     uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL,
  site_id       uuid NOT NULL,
  format        text NOT NULL CHECK (format IN ('jpeg', 'png')),
  width         integer NOT NULL CHECK (width BETWEEN 1 AND 65535),
  height        integer NOT NULL CHECK (height BETWEEN 1 AND 65535),
  -- The gateway bounds uploads at 8 MiB; a re-encoded PNG may come out somewhat larger.
  image         bytea NOT NULL CHECK (octet_length(image) BETWEEN 1 AND 33554432),
  uploaded_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, site_id, camera_id) REFERENCES cameras (tenant_id, site_id, id) ON DELETE CASCADE
);
-- JPEG and PNG are compressed already: TOAST stores them out of line without trying again.
ALTER TABLE camera_screenshots ALTER COLUMN image SET STORAGE EXTERNAL;

ALTER TABLE camera_screenshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE camera_screenshots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON camera_screenshots
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

GRANT SELECT, INSERT, UPDATE, DELETE ON camera_screenshots TO vigil_app;
