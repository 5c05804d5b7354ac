-- vigil:no-transaction
-- Telemetry with TimescaleDB: a hypertable with 1-day chunks, compression after 7 days
-- (segment by equipment), 2-year retention, hourly and daily continuous aggregates.
-- Continuous aggregates cannot be created inside a transaction, hence no-transaction.
--
-- Isolation (SPEC §8): TimescaleDB refuses RLS with compression and continuous aggregates,
-- and chunks are reachable through _timescaledb_internal. So the app role gets no grant on
-- the hypertable, its chunks, compressed chunks or aggregates (chunks copy the hypertable's
-- grants), and reads go through the security_barrier views in 003. USAGE on
-- _timescaledb_internal stays with PUBLIC: TimescaleDB's planner reads its catalog there as
-- the calling role, so revoking it breaks every query of every role (007 restores it where an
-- earlier version of this file revoked it).
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS telemetry (
  tenant_id     uuid NOT NULL,
  equipment_id  uuid NOT NULL,
  ts            timestamptz NOT NULL,
  temperature   double precision,
  pressure      double precision,
  door          boolean,
  heater        boolean,
  compressor    boolean,
  fan           boolean,
  setpoint      double precision,
  metrics       jsonb,
  received_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (equipment_id, ts)
);
SELECT create_hypertable('telemetry', 'ts', chunk_time_interval => interval '1 day', if_not_exists => true);
CREATE INDEX IF NOT EXISTS telemetry_tenant_ts_idx ON telemetry (tenant_id, ts DESC);
ALTER TABLE telemetry SET (timescaledb.compress, timescaledb.compress_segmentby = 'equipment_id',
                           timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('telemetry', interval '7 days', if_not_exists => true);
SELECT add_retention_policy('telemetry', interval '2 years', if_not_exists => true);

-- The rollup columns are the native variant's (002/008 native), computed the same way, so both
-- answer alike. Real-time (materialized_only = false): the newest buckets come from raw rows.
CREATE MATERIALIZED VIEW IF NOT EXISTS telemetry_hourly
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT tenant_id, equipment_id, time_bucket(interval '1 hour', ts) AS bucket, count(*) AS readings,
         min(temperature) AS temp_min, avg(temperature) AS temp_avg, max(temperature) AS temp_max,
         min(pressure) AS pressure_min, avg(pressure) AS pressure_avg, max(pressure) AS pressure_max,
         avg(door::int)::double precision AS door_open_ratio,
         avg(compressor::int)::double precision AS compressor_duty,
         count(*) FILTER (WHERE door) AS door_open_readings,
         count(*) FILTER (WHERE setpoint IS NOT NULL AND temperature IS NOT NULL) AS band_readings,
         count(*) FILTER (WHERE abs(temperature - setpoint) > 2) AS out_of_band_readings
  FROM telemetry GROUP BY tenant_id, equipment_id, bucket WITH NO DATA;
-- A refresh re-materialises only invalidated buckets, so a wide start_offset is cheap and is
-- what makes a late reading (up to 35 days) reach its bucket.
SELECT add_continuous_aggregate_policy('telemetry_hourly', start_offset => interval '35 days',
  end_offset => interval '5 minutes', schedule_interval => interval '5 minutes', if_not_exists => true);

CREATE MATERIALIZED VIEW IF NOT EXISTS telemetry_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT tenant_id, equipment_id, time_bucket(interval '1 day', ts) AS bucket, count(*) AS readings,
         min(temperature) AS temp_min, avg(temperature) AS temp_avg, max(temperature) AS temp_max,
         min(pressure) AS pressure_min, avg(pressure) AS pressure_avg, max(pressure) AS pressure_max,
         avg(door::int)::double precision AS door_open_ratio,
         avg(compressor::int)::double precision AS compressor_duty,
         count(*) FILTER (WHERE door) AS door_open_readings,
         count(*) FILTER (WHERE setpoint IS NOT NULL AND temperature IS NOT NULL) AS band_readings,
         count(*) FILTER (WHERE abs(temperature - setpoint) > 2) AS out_of_band_readings
  FROM telemetry GROUP BY tenant_id, equipment_id, bucket WITH NO DATA;
SELECT add_continuous_aggregate_policy('telemetry_daily', start_offset => interval '35 days',
  end_offset => interval '1 hour', schedule_interval => interval '1 hour', if_not_exists => true);
SELECT add_retention_policy('telemetry_hourly', interval '2 years', if_not_exists => true);
SELECT add_retention_policy('telemetry_daily', interval '2 years', if_not_exists => true);

REVOKE ALL ON telemetry, telemetry_hourly, telemetry_daily FROM PUBLIC;
GRANT SELECT, INSERT ON telemetry TO vigil_ingest;

-- The maintenance job's entry point: TimescaleDB's own jobs do the work; this reports
-- whether any of them is failing, which /health surfaces.
CREATE OR REPLACE FUNCTION telemetry_maintain() RETURNS jsonb
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('mode', 'timescaledb',
    'failed_jobs', COALESCE((SELECT jsonb_agg(jsonb_build_object('job_id', j.job_id, 'proc', j.proc_name,
        'last_run_status', s.last_run_status, 'total_failures', s.total_failures))
      FROM timescaledb_information.jobs j
      JOIN timescaledb_information.job_stats s USING (job_id)
      WHERE j.hypertable_name IN ('telemetry', 'telemetry_hourly', 'telemetry_daily')
        AND s.last_run_status = 'Failed'), '[]'::jsonb)) $$;
REVOKE ALL ON FUNCTION telemetry_maintain() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION telemetry_maintain() TO vigil_ingest, vigil_worker;
