-- The only way the app role reads telemetry: security_barrier views owned by the migration
-- owner, filtered on the transaction's tenant and site restriction. The filter sits inside the
-- barrier, so no user-supplied predicate or function runs on other tenants' rows first.
CREATE VIEW telemetry_v WITH (security_barrier) AS
  SELECT t.tenant_id, t.equipment_id, t.ts, t.temperature, t.pressure, t.door, t.heater,
         t.compressor, t.fan, t.setpoint, t.metrics, t.received_at
  FROM telemetry t
  WHERE t.tenant_id = vigil_current_tenant()
    AND (vigil_current_sites() IS NULL
         OR t.equipment_id IN (SELECT e.id FROM equipment e
                                WHERE e.tenant_id = vigil_current_tenant() AND vigil_site_visible(e.site_id)));

CREATE VIEW telemetry_hourly_v WITH (security_barrier) AS
  SELECT h.tenant_id, h.equipment_id, h.bucket, h.readings, h.temp_min, h.temp_avg, h.temp_max,
         h.pressure_min, h.pressure_avg, h.pressure_max, h.door_open_ratio, h.compressor_duty
  FROM telemetry_hourly h
  WHERE h.tenant_id = vigil_current_tenant()
    AND (vigil_current_sites() IS NULL
         OR h.equipment_id IN (SELECT e.id FROM equipment e
                                WHERE e.tenant_id = vigil_current_tenant() AND vigil_site_visible(e.site_id)));

GRANT SELECT ON telemetry_v, telemetry_hourly_v TO vigil_app;
