-- telemetry_site_daily as 003 now creates it: current ClickHouse releases refuse a joined
-- subquery without an alias (joined_subquery_requires_alias), so a database created by the
-- earlier 003 on 18.16 would lose the view when its server is upgraded. Views hold no data.
DROP TABLE IF EXISTS {db}.telemetry_site_daily;

CREATE VIEW {db}.telemetry_site_daily AS
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
