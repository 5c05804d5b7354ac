-- The units as PostgreSQL knows them (site, name, kind), copied by the maintenance job, so that
-- analysts can name units and roll them up to sites without a second database. The newest copy
-- of a unit wins (ReplacingMergeTree on synced_ms; read with FINAL).
CREATE TABLE IF NOT EXISTS {db}.equipment (
  tenant_id     UUID,
  equipment_id  UUID,
  site_id       UUID,
  site_name     String,
  name          String,
  kind          String,
  synced_ms     Int64
) ENGINE = ReplacingMergeTree(synced_ms)
ORDER BY (tenant_id, equipment_id);

-- Daily rollups per site: the daily unit states merged across each site's units. The joined
-- subquery has an alias: current ClickHouse refuses it without one (006 fixes older installs).
CREATE VIEW IF NOT EXISTS {db}.telemetry_site_daily AS
SELECT tenant_id, site_id, day,
       countMerge(readings) AS readings,
       countIfMerge(temperature_count) AS temperature_count,
       minIfMerge(temperature_min) AS temperature_min,
       avgIfMerge(temperature_avg) AS temperature_avg,
       maxIfMerge(temperature_max) AS temperature_max,
       avgIfMerge(door_open_ratio) AS door_open_ratio,
       avgIfMerge(compressor_duty) AS compressor_duty
FROM {db}.telemetry_daily
ANY INNER JOIN (SELECT equipment_id, site_id FROM {db}.equipment FINAL) AS u USING (equipment_id)
GROUP BY tenant_id, site_id, day;
