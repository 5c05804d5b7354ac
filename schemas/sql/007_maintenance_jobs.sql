-- Outcomes of the telemetry maintenance, one row per (job, scope), so that a failure is
-- visible in the gateway's /health and /metrics (which run in another process than the job)
-- and one failing step, hour or tenant is recorded without stopping the others.
--
-- scope '' is a whole step (partitions, retention); otherwise the unit of work that failed,
-- e.g. '<tenant> 2026-11-30T10:00:00Z' for one rollup bucket. A success deletes a scoped row
-- and resets a step's row, so the table holds the steps plus what is failing now.
CREATE TABLE IF NOT EXISTS maintenance_jobs (
  job              text NOT NULL,
  scope            text NOT NULL DEFAULT '',
  ok               boolean NOT NULL,
  error            text,
  failures         integer NOT NULL DEFAULT 0,
  last_run_at      timestamptz NOT NULL DEFAULT now(),
  last_success_at  timestamptz,
  PRIMARY KEY (job, scope)
);
REVOKE ALL ON maintenance_jobs FROM PUBLIC;

CREATE OR REPLACE FUNCTION vigil_job_done(p_job text, p_scope text, p_error text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_error IS NULL AND p_scope <> '' THEN
    DELETE FROM maintenance_jobs WHERE job = p_job AND scope = p_scope;
    RETURN;
  END IF;
  INSERT INTO maintenance_jobs AS j (job, scope, ok, error, failures, last_success_at)
  VALUES (p_job, p_scope, p_error IS NULL, p_error, CASE WHEN p_error IS NULL THEN 0 ELSE 1 END,
          CASE WHEN p_error IS NULL THEN now() END)
  ON CONFLICT (job, scope) DO UPDATE SET
    ok = EXCLUDED.ok, error = EXCLUDED.error, last_run_at = now(),
    failures = CASE WHEN EXCLUDED.ok THEN 0 ELSE j.failures + 1 END,
    last_success_at = COALESCE(EXCLUDED.last_success_at, j.last_success_at);
END $$;
REVOKE ALL ON FUNCTION vigil_job_done(text, text, text) FROM PUBLIC;
-- The ClickHouse maintenance (actors/sinks/clickhouse-maintenance.ts) records its steps too.
GRANT EXECUTE ON FUNCTION vigil_job_done(text, text, text) TO vigil_worker;
