-- Rollups without TimescaleDB, made to answer exactly like 002's continuous aggregates, and a
-- maintenance job where nothing blocks anything else (issue 10):
--
-- * Only readings whose (tenant, unit) pair is registered are rolled up. A mis-addressed
--   reading (tenant A's id with tenant B's unit) used to put a second row for the same
--   (unit, hour) into one INSERT … ON CONFLICT, which fails the whole statement — for every
--   tenant, and with it partition creation and retention in the same transaction.
-- * Each (tenant, bucket) is rolled up in its own subtransaction; a failure is recorded in
--   maintenance_jobs and retried next run, the other buckets go on. Partition creation,
--   retention and rollups are separate steps, each recorded on its own.
-- * Late readings: a statement trigger marks the (tenant, hour) buckets an insert touched;
--   the job recomputes exactly those (hour and day), however old.
ALTER TABLE telemetry_hourly
  ADD COLUMN IF NOT EXISTS door_open_readings bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS band_readings bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS out_of_band_readings bigint NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS telemetry_daily (LIKE telemetry_hourly INCLUDING ALL);
REVOKE ALL ON telemetry_daily FROM PUBLIC;

-- Buckets to recompute. seq changes on every re-mark, so the job deletes a mark only if no
-- insert touched the bucket again while it was computing.
CREATE SEQUENCE IF NOT EXISTS telemetry_dirty_seq;
CREATE TABLE IF NOT EXISTS telemetry_dirty (
  tenant_id  uuid NOT NULL,
  hour       timestamptz NOT NULL,
  seq        bigint NOT NULL DEFAULT nextval('telemetry_dirty_seq'),
  PRIMARY KEY (tenant_id, hour)
);
REVOKE ALL ON telemetry_dirty FROM PUBLIC;

CREATE OR REPLACE FUNCTION telemetry_mark_dirty() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO telemetry_dirty (tenant_id, hour)
  SELECT DISTINCT tenant_id, date_trunc('hour', ts, 'UTC') FROM inserted
  ORDER BY 1, 2 -- one lock order for concurrent writers
  ON CONFLICT (tenant_id, hour) DO UPDATE SET seq = nextval('telemetry_dirty_seq');
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION telemetry_mark_dirty() FROM PUBLIC;
DROP TRIGGER IF EXISTS telemetry_mark_dirty ON telemetry;
CREATE TRIGGER telemetry_mark_dirty AFTER INSERT ON telemetry
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION telemetry_mark_dirty();

-- Recompute one tenant's bucket ('hour' or 'day', UTC) from the registered units' readings.
CREATE OR REPLACE FUNCTION telemetry_rollup_bucket(p_grain text, p_tenant uuid, p_bucket timestamptz)
  RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n bigint;
  tbl text := CASE p_grain WHEN 'day' THEN 'telemetry_daily' ELSE 'telemetry_hourly' END;
  upto timestamptz := p_bucket + CASE p_grain WHEN 'day' THEN interval '1 day' ELSE interval '1 hour' END;
BEGIN
  -- Also a row an older version stored for one of this tenant's units under another tenant.
  EXECUTE format('DELETE FROM %I WHERE bucket = $2 AND (tenant_id = $1 OR equipment_id IN
                    (SELECT id FROM equipment WHERE tenant_id = $1))', tbl) USING p_tenant, p_bucket;
  EXECUTE format($q$
    INSERT INTO %I (tenant_id, equipment_id, bucket, readings, temp_min, temp_avg, temp_max,
                    pressure_min, pressure_avg, pressure_max, door_open_ratio, compressor_duty,
                    door_open_readings, band_readings, out_of_band_readings)
    SELECT t.tenant_id, t.equipment_id, $2, count(*),
           min(t.temperature), avg(t.temperature), max(t.temperature),
           min(t.pressure), avg(t.pressure), max(t.pressure),
           avg(t.door::int)::double precision, avg(t.compressor::int)::double precision,
           count(*) FILTER (WHERE t.door),
           count(*) FILTER (WHERE t.setpoint IS NOT NULL AND t.temperature IS NOT NULL),
           count(*) FILTER (WHERE abs(t.temperature - t.setpoint) > 2)
    FROM telemetry t JOIN equipment e ON e.id = t.equipment_id AND e.tenant_id = t.tenant_id
    WHERE t.tenant_id = $1 AND t.ts >= $2 AND t.ts < $3
    GROUP BY t.tenant_id, t.equipment_id$q$, tbl) USING p_tenant, p_bucket, upto;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- One tenant's bucket in its own subtransaction: the rows written, or -1 when it failed (the
-- failure is recorded under scope '<grain> <tenant> <bucket>'; a later success clears it).
CREATE OR REPLACE FUNCTION telemetry_rollup_one(p_grain text, p_tenant uuid, p_bucket timestamptz) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n bigint;
  scope text := p_grain || ' ' || p_tenant || ' ' ||
                to_char(p_bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
BEGIN
  BEGIN
    n := telemetry_rollup_bucket(p_grain, p_tenant, p_bucket);
  EXCEPTION WHEN OTHERS THEN
    PERFORM vigil_job_done('telemetry_rollup', scope, SQLERRM);
    RETURN -1;
  END;
  PERFORM vigil_job_done('telemetry_rollup', scope, NULL);
  RETURN n;
END $$;

-- Recompute every (tenant, hour) and (tenant, day) with readings in [p_from, p_to), each once
-- and on its own; failures are recorded, the rest go on.
CREATE OR REPLACE FUNCTION telemetry_refresh_rollups(p_from timestamptz, p_to timestamptz) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  r record;
  n bigint := 0;
BEGIN
  FOR r IN SELECT DISTINCT tenant_id, date_trunc('hour', ts, 'UTC') AS hour FROM telemetry
           WHERE ts >= date_trunc('hour', p_from, 'UTC') AND ts < p_to ORDER BY 1, 2 LOOP
    n := n + greatest(telemetry_rollup_one('hour', r.tenant_id, r.hour), 0);
  END LOOP;
  FOR r IN SELECT DISTINCT tenant_id, date_trunc('day', ts, 'UTC') AS day FROM telemetry
           WHERE ts >= date_trunc('day', p_from, 'UTC') AND ts < p_to ORDER BY 1, 2 LOOP
    n := n + greatest(telemetry_rollup_one('day', r.tenant_id, r.day), 0);
  END LOOP;
  RETURN n;
END $$;

CREATE OR REPLACE FUNCTION telemetry_drop_expired() RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  r record;
  dropped integer := 0;
  horizon date := ((now() AT TIME ZONE 'UTC') - (SELECT retention FROM telemetry_settings))::date;
BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'telemetry'::regclass AND c.relname ~ '^telemetry_p[0-9]{8}$' LOOP
    IF telemetry_partition_day(r.relname) < horizon THEN
      EXECUTE format('DROP TABLE %I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  DELETE FROM telemetry_hourly WHERE bucket < horizon;
  DELETE FROM telemetry_daily WHERE bucket < horizon;
  DELETE FROM telemetry_dirty WHERE hour < horizon;
  RETURN dropped;
END $$;

-- The maintenance job's entry point. Every step runs in its own subtransaction and records
-- its outcome; the result lists what failed this run (empty when all is well).
CREATE OR REPLACE FUNCTION telemetry_maintain() RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  s telemetry_settings;
  today date := (now() AT TIME ZONE 'UTC')::date;
  created integer;
  dropped integer;
  rolled bigint := 0;
  k bigint;
  failed jsonb := '[]'::jsonb;
  d record;
BEGIN
  SELECT * INTO s FROM telemetry_settings;
  BEGIN
    created := telemetry_ensure_partitions(today - s.partitions_behind, today + s.partitions_ahead);
    PERFORM vigil_job_done('telemetry_partitions', '', NULL);
  EXCEPTION WHEN OTHERS THEN
    PERFORM vigil_job_done('telemetry_partitions', '', SQLERRM);
    failed := failed || jsonb_build_object('job', 'telemetry_partitions', 'error', SQLERRM);
  END;
  BEGIN
    dropped := telemetry_drop_expired();
    PERFORM vigil_job_done('telemetry_retention', '', NULL);
  EXCEPTION WHEN OTHERS THEN
    PERFORM vigil_job_done('telemetry_retention', '', SQLERRM);
    failed := failed || jsonb_build_object('job', 'telemetry_retention', 'error', SQLERRM);
  END;
  -- The marked hours, then their days (each day once), then the marks of what succeeded.
  CREATE TEMP TABLE IF NOT EXISTS rollup_marks (tenant_id uuid, hour timestamptz, seq bigint, ok boolean)
    ON COMMIT DROP;
  TRUNCATE rollup_marks;
  INSERT INTO rollup_marks SELECT tenant_id, hour, seq, true FROM telemetry_dirty;
  FOR d IN SELECT tenant_id, hour FROM rollup_marks ORDER BY hour, tenant_id LOOP
    k := telemetry_rollup_one('hour', d.tenant_id, d.hour);
    IF k < 0 THEN
      failed := failed || jsonb_build_object('job', 'telemetry_rollup', 'tenant', d.tenant_id, 'hour', d.hour);
      UPDATE rollup_marks SET ok = false WHERE tenant_id = d.tenant_id AND hour = d.hour;
    ELSE
      rolled := rolled + k;
    END IF;
  END LOOP;
  FOR d IN SELECT DISTINCT tenant_id, date_trunc('day', hour, 'UTC') AS day FROM rollup_marks ORDER BY 2, 1 LOOP
    k := telemetry_rollup_one('day', d.tenant_id, d.day);
    IF k < 0 THEN
      failed := failed || jsonb_build_object('job', 'telemetry_rollup', 'tenant', d.tenant_id, 'day', d.day);
      UPDATE rollup_marks SET ok = false WHERE tenant_id = d.tenant_id AND date_trunc('day', hour, 'UTC') = d.day;
    ELSE
      rolled := rolled + k;
    END IF;
  END LOOP;
  DELETE FROM telemetry_dirty t USING rollup_marks m
  WHERE m.ok AND t.tenant_id = m.tenant_id AND t.hour = m.hour AND t.seq = m.seq;
  RETURN jsonb_build_object('mode', 'native', 'created', created, 'dropped', dropped,
                            'rolled_up', rolled, 'failed', failed);
END $$;

CREATE OR REPLACE FUNCTION vigil_failed_jobs()
  RETURNS TABLE (job text, scope text, error text, failures integer, last_run_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT job, scope, error, failures, last_run_at FROM maintenance_jobs WHERE NOT ok
  ORDER BY last_run_at DESC, job, scope LIMIT 100 $$;

REVOKE ALL ON FUNCTION telemetry_rollup_bucket(text, uuid, timestamptz), telemetry_rollup_one(text, uuid, timestamptz),
  telemetry_refresh_rollups(timestamptz, timestamptz), telemetry_drop_expired(), telemetry_maintain(),
  vigil_failed_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION telemetry_maintain() TO vigil_ingest, vigil_worker;
GRANT EXECUTE ON FUNCTION vigil_failed_jobs() TO vigil_app, vigil_worker;

-- Buckets that existed before the trigger: recompute the recent ones on the first run.
INSERT INTO telemetry_dirty (tenant_id, hour)
SELECT DISTINCT tenant_id, date_trunc('hour', ts, 'UTC') FROM telemetry WHERE ts >= now() - interval '2 days'
ON CONFLICT DO NOTHING;
