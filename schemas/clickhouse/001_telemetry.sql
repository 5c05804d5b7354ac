-- Raw telemetry. Portable between ClickHouse 18.16 and current releases: DateTime (seconds)
-- for partitioning plus epoch milliseconds for exact time; Nullable instead of defaults;
-- parallel arrays instead of Map. ReplacingMergeTree collapses a redelivered reading (same
-- unit, same ms) on merge; queries that must not double count use FINAL (docs/analyst-guide.md).
CREATE TABLE IF NOT EXISTS {db}.telemetry (
  tenant_id     UUID,
  equipment_id  UUID,
  ts            DateTime('UTC'),
  ts_ms         Int64,
  temperature   Nullable(Float64),
  pressure      Nullable(Float64),
  door          Nullable(UInt8),
  heater        Nullable(UInt8),
  compressor    Nullable(UInt8),
  fan           Nullable(UInt8),
  setpoint      Nullable(Float64),
  metric_names  Array(String),
  metric_values Array(Float64),
  received_ms   Int64
) ENGINE = ReplacingMergeTree(received_ms)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant_id, equipment_id, ts_ms);
