-- The cross-signal (SPEC §7): a unit may watch one camera zone — the product zone in front of a
-- cooler — so its door-open episodes can be told attended (someone was there) from unattended.
-- The zone must be of the unit's own site: the composite foreign key says so, and deleting the
-- zone (or its camera) only unlinks the unit.
ALTER TABLE zones ADD CONSTRAINT zones_tenant_site_id_key UNIQUE (tenant_id, site_id, id);

ALTER TABLE equipment ADD COLUMN watch_zone_id uuid;
ALTER TABLE equipment
  ADD CONSTRAINT equipment_watch_zone_fk FOREIGN KEY (tenant_id, site_id, watch_zone_id)
  REFERENCES zones (tenant_id, site_id, id) ON DELETE SET NULL (watch_zone_id);
CREATE INDEX equipment_watch_zone_idx ON equipment (watch_zone_id) WHERE watch_zone_id IS NOT NULL;

-- The rule kind that reads it.
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_kind_check;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_kind_check
  CHECK (kind IN ('threshold', 'no_data', 'door_open', 'defrost_overrun', 'rate', 'unattended_door'));
