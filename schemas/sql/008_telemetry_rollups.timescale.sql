-- TimescaleDB variant of 008: the continuous aggregates of 002 already have the rollup columns
-- and refresh late readings themselves; what is left is health and repair.
--
-- An earlier 002 revoked USAGE on _timescaledb_internal from PUBLIC. TimescaleDB's planner
-- reads its catalog there as the calling role, so every query of every other role failed
-- (even `SELECT count(*) FROM tenants`). Isolation comes from grants on the hypertable, its
-- chunks, compressed chunks and aggregates, which the app role does not have.
GRANT USAGE ON SCHEMA _timescaledb_internal TO PUBLIC;

-- Failed maintenance: our own steps, plus every TimescaleDB background job of this database
-- whose last run failed (refresh, compression, retention policies).
CREATE OR REPLACE FUNCTION vigil_failed_jobs()
  RETURNS TABLE (job text, scope text, error text, failures integer, last_run_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT * FROM (
    SELECT m.job, m.scope, m.error, m.failures, m.last_run_at FROM maintenance_jobs m WHERE NOT m.ok
    UNION ALL
    SELECT 'timescaledb:' || j.proc_name, COALESCE(j.hypertable_name::text, j.job_id::text),
           (SELECT e.err_message FROM timescaledb_information.job_errors e
             WHERE e.job_id = j.job_id ORDER BY e.finish_time DESC LIMIT 1),
           s.total_failures::integer, s.last_run_started_at
    FROM timescaledb_information.jobs j
    JOIN timescaledb_information.job_stats s USING (job_id)
    WHERE s.last_run_status = 'Failed'
  ) f ORDER BY last_run_at DESC NULLS LAST, job, scope LIMIT 100 $$;

-- The maintenance job's entry point: TimescaleDB's own jobs do the work; this reports which of
-- them are failing (the same list /health shows).
CREATE OR REPLACE FUNCTION telemetry_maintain() RETURNS jsonb
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('mode', 'timescaledb',
    'failed', COALESCE((SELECT jsonb_agg(jsonb_build_object('job', f.job, 'scope', f.scope, 'error', f.error))
                        FROM vigil_failed_jobs() f), '[]'::jsonb)) $$;

REVOKE ALL ON FUNCTION vigil_failed_jobs(), telemetry_maintain() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION telemetry_maintain() TO vigil_ingest, vigil_worker;
GRANT EXECUTE ON FUNCTION vigil_failed_jobs() TO vigil_app, vigil_worker;
