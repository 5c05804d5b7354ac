-- Crowding as an alert rule on a zone (SPEC §6): occupancy ≥ K for T s opens a `crowding`
-- alert with the engine's lifecycle — a severity, and a clear occupancy held for a clear delay
-- (hysteresis) before it resolves. Unset, they take their defaults (warning, K − 1, 0 s).
ALTER TABLE zones ADD COLUMN crowding_severity text
  CHECK (crowding_severity IS NULL OR crowding_severity IN ('info', 'warning', 'critical'));
ALTER TABLE zones ADD COLUMN crowding_clear_occupancy integer
  CHECK (crowding_clear_occupancy IS NULL OR (crowding_clear_occupancy >= 0 AND crowding_clear_occupancy < crowding_occupancy));
ALTER TABLE zones ADD COLUMN crowding_clear_seconds double precision
  CHECK (crowding_clear_seconds IS NULL OR (crowding_clear_seconds >= 0 AND crowding_clear_seconds <= 86400));
ALTER TABLE zones ADD CONSTRAINT zones_crowding_options_check
  CHECK (crowding_occupancy IS NOT NULL
         OR (crowding_severity IS NULL AND crowding_clear_occupancy IS NULL AND crowding_clear_seconds IS NULL));

-- A camera alert may be about one of its zones; crowding alerts always are. One open alert per
-- (camera, rule key, zone): two crowded zones of one camera are two alerts.
ALTER TABLE alerts ADD COLUMN zone_id uuid;
ALTER TABLE alerts ADD CONSTRAINT alerts_zone_fk
  FOREIGN KEY (tenant_id, site_id, zone_id) REFERENCES zones (tenant_id, site_id, id) ON DELETE CASCADE;
ALTER TABLE alerts ADD CONSTRAINT alerts_zone_of_camera CHECK (zone_id IS NULL OR camera_id IS NOT NULL);
DROP INDEX alerts_camera_open_uq;
CREATE UNIQUE INDEX alerts_camera_open_uq
  ON alerts (camera_id, rule_key, COALESCE(zone_id, '00000000-0000-0000-0000-000000000000'::uuid))
  WHERE status <> 'resolved' AND camera_id IS NOT NULL;
