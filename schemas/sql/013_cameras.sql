-- Cameras and their zones (SPEC §6). Both are tenant tables under the same row-level security
-- as equipment: tenant first, then the caller's site restriction, so a site-restricted viewer
-- sees only its sites' cameras and their zones.
--
-- A camera belongs to one site for life (like a unit: one that moves is deleted and added
-- again). Zones repeat their camera's site so their policy needs no join; the composite foreign
-- key keeps the copy true.

CREATE TABLE cameras (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  site_id       uuid NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- rtsp://, rtsps://, http(s):// or a file path on the camera node.
  source_url    text NOT NULL CHECK (length(source_url) BETWEEN 1 AND 2000),
  enabled       boolean NOT NULL DEFAULT true,
  detect_fps    double precision NOT NULL DEFAULT 5 CHECK (detect_fps > 0 AND detect_fps <= 30),
  -- NULL: the node's default model (VIGIL_CAMERA_MODEL).
  model_path    text CHECK (model_path IS NULL OR length(model_path) BETWEEN 1 AND 1000),
  input_size    integer NOT NULL DEFAULT 640 CHECK (input_size BETWEEN 32 AND 2048 AND input_size % 32 = 0),
  confidence    double precision NOT NULL DEFAULT 0.25 CHECK (confidence > 0 AND confidence < 1),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, site_id, id)
);
CREATE INDEX cameras_site_idx ON cameras (tenant_id, site_id);
CREATE INDEX cameras_created_idx ON cameras (tenant_id, created_at DESC, id DESC);

CREATE TABLE zones (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL,
  site_id       uuid NOT NULL,
  camera_id     uuid NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind          text NOT NULL CHECK (kind IN ('area', 'line', 'product')),
  -- [[x, y], …] in normalised image coordinates; shape checked by the API (polygon rules).
  points        jsonb NOT NULL CHECK (jsonb_typeof(points) = 'array'),
  -- A line zone at the door: its crossings are the site's footfall.
  entrance      boolean NOT NULL DEFAULT false CHECK (NOT entrance OR kind = 'line'),
  inertia_frames integer CHECK (inertia_frames IS NULL OR inertia_frames BETWEEN 1 AND 50),
  dwell_seconds double precision CHECK (dwell_seconds IS NULL OR (dwell_seconds > 0 AND dwell_seconds <= 3600)),
  crowding_occupancy integer CHECK (crowding_occupancy IS NULL OR crowding_occupancy BETWEEN 1 AND 1000),
  crowding_seconds double precision CHECK (crowding_seconds IS NULL OR (crowding_seconds >= 0 AND crowding_seconds <= 86400)),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, site_id, camera_id) REFERENCES cameras (tenant_id, site_id, id) ON DELETE CASCADE,
  CHECK ((crowding_occupancy IS NULL) = (crowding_seconds IS NULL)),
  UNIQUE (camera_id, name)
);
CREATE INDEX zones_camera_idx ON zones (tenant_id, camera_id, created_at DESC, id DESC);

ALTER TABLE cameras ENABLE ROW LEVEL SECURITY;
ALTER TABLE cameras FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cameras
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

ALTER TABLE zones ENABLE ROW LEVEL SECURITY;
ALTER TABLE zones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON zones
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

GRANT SELECT, INSERT, UPDATE, DELETE ON cameras, zones TO vigil_app;
-- Camera nodes load every tenant's cameras and zones (the video pipeline and the actors).
GRANT SELECT ON cameras, zones TO vigil_worker;
