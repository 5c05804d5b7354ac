-- A camera that stops streaming raises an alert with the same lifecycle as equipment (SPEC §6):
-- the same table, timeline, acknowledgement and resolution. An alert belongs to exactly one
-- unit or one camera.
ALTER TABLE alerts ALTER COLUMN equipment_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN camera_id uuid;
ALTER TABLE alerts ADD CONSTRAINT alerts_camera_fk
  FOREIGN KEY (tenant_id, camera_id) REFERENCES cameras (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE alerts ADD CONSTRAINT alerts_one_subject CHECK (num_nonnulls(equipment_id, camera_id) = 1);
-- One open alert per (camera, rule key), as per (unit, rule key).
CREATE UNIQUE INDEX alerts_camera_open_uq ON alerts (camera_id, rule_key)
  WHERE status <> 'resolved' AND camera_id IS NOT NULL;
