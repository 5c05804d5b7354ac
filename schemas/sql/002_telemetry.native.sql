-- Telemetry without TimescaleDB: native daily range partitions, created ahead and dropped past
-- retention by telemetry_maintain(), plus an hourly rollup table. Same table and column names
-- as the TimescaleDB variant, so one query API serves both.
--
-- Isolation (SPEC §8): a partition accessed directly bypasses the parent's policies, so the
-- app role gets no grant on the table, any partition or the rollup; it reads only through the
-- security_barrier views at the end, which filter on the transaction's tenant.
CREATE TABLE telemetry (
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
) PARTITION BY RANGE (ts);
CREATE INDEX telemetry_tenant_ts_idx ON telemetry (tenant_id, ts DESC);

CREATE TABLE telemetry_hourly (
  tenant_id      uuid NOT NULL,
  equipment_id   uuid NOT NULL,
  bucket         timestamptz NOT NULL,
  readings       bigint NOT NULL,
  temp_min       double precision,
  temp_avg       double precision,
  temp_max       double precision,
  pressure_min   double precision,
  pressure_avg   double precision,
  pressure_max   double precision,
  door_open_ratio   double precision,
  compressor_duty   double precision,
  PRIMARY KEY (equipment_id, bucket)
);
CREATE INDEX telemetry_hourly_tenant_idx ON telemetry_hourly (tenant_id, bucket DESC);

CREATE TABLE telemetry_settings (
  id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
  retention          interval NOT NULL DEFAULT interval '2 years',
  partitions_ahead   integer NOT NULL DEFAULT 7,
  partitions_behind  integer NOT NULL DEFAULT 8
);
INSERT INTO telemetry_settings DEFAULT VALUES;

CREATE OR REPLACE FUNCTION telemetry_ensure_partitions(p_from date, p_to date) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  d date := p_from;
  created integer := 0;
  part text;
BEGIN
  WHILE d <= p_to LOOP
    part := format('telemetry_p%s', to_char(d, 'YYYYMMDD'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF telemetry FOR VALUES FROM (%L) TO (%L)',
                     part, d::timestamptz AT TIME ZONE 'UTC', (d + 1)::timestamptz AT TIME ZONE 'UTC');
      -- Grants are not inherited from the parent: say exactly who may touch a partition.
      EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', part);
      EXECUTE format('GRANT SELECT, INSERT ON %I TO vigil_ingest', part);
      created := created + 1;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END $$;

-- Partition bounds are UTC days.
CREATE OR REPLACE FUNCTION telemetry_partition_day(p_name text) RETURNS date
  LANGUAGE sql IMMUTABLE AS $$ SELECT to_date(substr(p_name, 12), 'YYYYMMDD') $$;

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
  RETURN dropped;
END $$;

-- Recompute the hourly rollup for [p_from, p_to). Idempotent: re-running replaces the buckets.
CREATE OR REPLACE FUNCTION telemetry_refresh_rollups(p_from timestamptz, p_to timestamptz) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n bigint;
BEGIN
  INSERT INTO telemetry_hourly AS h
  SELECT tenant_id, equipment_id, date_trunc('hour', ts) AS bucket, count(*),
         min(temperature), avg(temperature), max(temperature),
         min(pressure), avg(pressure), max(pressure),
         avg(door::int) , avg(compressor::int)
  FROM telemetry
  WHERE ts >= date_trunc('hour', p_from) AND ts < p_to
  GROUP BY 1, 2, 3
  ON CONFLICT (equipment_id, bucket) DO UPDATE SET
    readings = EXCLUDED.readings, temp_min = EXCLUDED.temp_min, temp_avg = EXCLUDED.temp_avg,
    temp_max = EXCLUDED.temp_max, pressure_min = EXCLUDED.pressure_min,
    pressure_avg = EXCLUDED.pressure_avg, pressure_max = EXCLUDED.pressure_max,
    door_open_ratio = EXCLUDED.door_open_ratio, compressor_duty = EXCLUDED.compressor_duty;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- One entry point for the maintenance job; returns what it did so /health can show it.
CREATE OR REPLACE FUNCTION telemetry_maintain() RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  s telemetry_settings;
  today date := (now() AT TIME ZONE 'UTC')::date;
  created integer;
  dropped integer;
  rolled bigint;
BEGIN
  SELECT * INTO s FROM telemetry_settings;
  created := telemetry_ensure_partitions(today - s.partitions_behind, today + s.partitions_ahead);
  dropped := telemetry_drop_expired();
  rolled := telemetry_refresh_rollups(now() - interval '2 hours', now());
  RETURN jsonb_build_object('mode', 'native', 'created', created, 'dropped', dropped, 'rolled_up', rolled);
END $$;

SELECT telemetry_maintain();

REVOKE ALL ON telemetry, telemetry_hourly, telemetry_settings FROM PUBLIC;
GRANT SELECT, INSERT ON telemetry TO vigil_ingest;
REVOKE ALL ON FUNCTION telemetry_ensure_partitions(date, date), telemetry_drop_expired(),
  telemetry_refresh_rollups(timestamptz, timestamptz), telemetry_maintain() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION telemetry_ensure_partitions(date, date), telemetry_maintain() TO vigil_ingest, vigil_worker;
