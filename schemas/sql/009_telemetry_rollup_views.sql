-- The rollups as the app role reads them: hourly and daily, through security_barrier views
-- filtered on the transaction's tenant and sites (the app role has no grant on the rollups
-- themselves). Every numeric column is double precision in both variants: an aggregate over
-- a TimescaleDB continuous aggregate may come back numeric, which node-postgres hands over as
-- a string.
DROP VIEW IF EXISTS telemetry_hourly_v;
CREATE VIEW telemetry_hourly_v WITH (security_barrier) AS
  SELECT h.tenant_id, h.equipment_id, h.bucket, h.readings::bigint AS readings,
         h.temp_min::double precision AS temp_min, h.temp_avg::double precision AS temp_avg,
         h.temp_max::double precision AS temp_max, h.pressure_min::double precision AS pressure_min,
         h.pressure_avg::double precision AS pressure_avg, h.pressure_max::double precision AS pressure_max,
         h.door_open_ratio::double precision AS door_open_ratio,
         h.compressor_duty::double precision AS compressor_duty,
         h.door_open_readings::bigint AS door_open_readings, h.band_readings::bigint AS band_readings,
         h.out_of_band_readings::bigint AS out_of_band_readings
  FROM telemetry_hourly h
  WHERE h.tenant_id = vigil_current_tenant()
    AND (vigil_current_sites() IS NULL
         OR h.equipment_id IN (SELECT e.id FROM equipment e
                                WHERE e.tenant_id = vigil_current_tenant() AND vigil_site_visible(e.site_id)));

DROP VIEW IF EXISTS telemetry_daily_v;
CREATE VIEW telemetry_daily_v WITH (security_barrier) AS
  SELECT d.tenant_id, d.equipment_id, d.bucket, d.readings::bigint AS readings,
         d.temp_min::double precision AS temp_min, d.temp_avg::double precision AS temp_avg,
         d.temp_max::double precision AS temp_max, d.pressure_min::double precision AS pressure_min,
         d.pressure_avg::double precision AS pressure_avg, d.pressure_max::double precision AS pressure_max,
         d.door_open_ratio::double precision AS door_open_ratio,
         d.compressor_duty::double precision AS compressor_duty,
         d.door_open_readings::bigint AS door_open_readings, d.band_readings::bigint AS band_readings,
         d.out_of_band_readings::bigint AS out_of_band_readings
  FROM telemetry_daily d
  WHERE d.tenant_id = vigil_current_tenant()
    AND (vigil_current_sites() IS NULL
         OR d.equipment_id IN (SELECT e.id FROM equipment e
                                WHERE e.tenant_id = vigil_current_tenant() AND vigil_site_visible(e.site_id)));

REVOKE ALL ON telemetry_hourly_v, telemetry_daily_v FROM PUBLIC;
GRANT SELECT ON telemetry_hourly_v, telemetry_daily_v TO vigil_app;
