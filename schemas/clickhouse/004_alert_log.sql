-- Every alert timeline entry (opened, severity changed, acknowledged, resolved, …) with its
-- alert's unit, rule and severity, copied from PostgreSQL by the maintenance job. One row per
-- (alert, event): a re-copied entry collapses on merge (read with FINAL for exact counts).
CREATE TABLE IF NOT EXISTS {db}.alert_log (
  tenant_id     UUID,
  site_id       UUID,
  equipment_id  UUID,
  alert_id      UUID,
  event_id      String,
  seq           Int64,
  at            DateTime('UTC'),
  at_ms         Int64,
  action        String,
  rule_key      String,
  severity      String,
  value         Nullable(Float64),
  threshold     Nullable(Float64),
  note          String
) ENGINE = ReplacingMergeTree(seq)
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, alert_id, event_id);
