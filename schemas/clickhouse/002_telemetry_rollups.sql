-- Hourly and daily rollups per unit, kept up to date by materialised views on every insert
-- into `telemetry`. AggregatingMergeTree holds partial aggregate states: read them with the
-- -Merge combinators (countMerge, avgMerge, …) and GROUP BY, which also rolls units up to
-- sites or tenants exactly (docs/analyst-guide.md). A reading delivered twice is collapsed in
-- `telemetry` but counted twice here: min/max are unaffected, counts and averages may be off
-- by the redelivered few; exact figures come from `telemetry FINAL`.
--
-- Nullable columns are aggregated with the -If combinator over assumeNotNull(x) / isNotNull(x):
-- ClickHouse 18.16 and current releases give a Nullable argument's state different types, the
-- -If form has one type on both. A bucket without a value has temperature_count 0 (and then
-- min/max 0, avg nan: check the count).
CREATE TABLE IF NOT EXISTS {db}.telemetry_hourly (
  tenant_id          UUID,
  equipment_id       UUID,
  hour               DateTime('UTC'),
  readings           AggregateFunction(count),
  temperature_count  AggregateFunction(countIf, UInt8),
  temperature_min    AggregateFunction(minIf, Float64, UInt8),
  temperature_avg    AggregateFunction(avgIf, Float64, UInt8),
  temperature_max    AggregateFunction(maxIf, Float64, UInt8),
  pressure_avg       AggregateFunction(avgIf, Float64, UInt8),
  door_open_ratio    AggregateFunction(avgIf, UInt8, UInt8),
  compressor_duty    AggregateFunction(avgIf, UInt8, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, equipment_id, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.telemetry_hourly_mv TO {db}.telemetry_hourly AS
SELECT tenant_id, equipment_id, toStartOfHour(ts) AS hour,
       countState() AS readings,
       countIfState(isNotNull(temperature)) AS temperature_count,
       minIfState(assumeNotNull(temperature), isNotNull(temperature)) AS temperature_min,
       avgIfState(assumeNotNull(temperature), isNotNull(temperature)) AS temperature_avg,
       maxIfState(assumeNotNull(temperature), isNotNull(temperature)) AS temperature_max,
       avgIfState(assumeNotNull(pressure), isNotNull(pressure)) AS pressure_avg,
       avgIfState(assumeNotNull(door), isNotNull(door)) AS door_open_ratio,
       avgIfState(assumeNotNull(compressor), isNotNull(compressor)) AS compressor_duty
FROM {db}.telemetry
GROUP BY tenant_id, equipment_id, hour;

CREATE TABLE IF NOT EXISTS {db}.telemetry_daily (
  tenant_id          UUID,
  equipment_id       UUID,
  day                Date,
  readings           AggregateFunction(count),
  temperature_count  AggregateFunction(countIf, UInt8),
  temperature_min    AggregateFunction(minIf, Float64, UInt8),
  temperature_avg    AggregateFunction(avgIf, Float64, UInt8),
  temperature_max    AggregateFunction(maxIf, Float64, UInt8),
  pressure_avg       AggregateFunction(avgIf, Float64, UInt8),
  door_open_ratio    AggregateFunction(avgIf, UInt8, UInt8),
  compressor_duty    AggregateFunction(avgIf, UInt8, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, equipment_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.telemetry_daily_mv TO {db}.telemetry_daily AS
SELECT tenant_id, equipment_id, toDate(ts) AS day,
       countState() AS readings,
       countIfState(isNotNull(temperature)) AS temperature_count,
       minIfState(assumeNotNull(temperature), isNotNull(temperature)) AS temperature_min,
       avgIfState(assumeNotNull(temperature), isNotNull(temperature)) AS temperature_avg,
       maxIfState(assumeNotNull(temperature), isNotNull(temperature)) AS temperature_max,
       avgIfState(assumeNotNull(pressure), isNotNull(pressure)) AS pressure_avg,
       avgIfState(assumeNotNull(door), isNotNull(door)) AS door_open_ratio,
       avgIfState(assumeNotNull(compressor), isNotNull(compressor)) AS compressor_duty
FROM {db}.telemetry
GROUP BY tenant_id, equipment_id, day;
