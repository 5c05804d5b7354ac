-- People analytics from the camera actors (SPEC §6, §8). Portable between ClickHouse 18.16 and
-- current releases, as 001: DateTime seconds for partitions plus epoch milliseconds for exact
-- time, Nullable instead of defaults, UInt8 for flags. Written by the people sink from EVENTS;
-- a redelivered event (same event id) collapses on merge: read with FINAL for exact counts.

-- One row per camera event: entry / exit (line zones; `entrance` lines are footfall),
-- zone_entry / zone_exit (with dwell), product_interaction, occupancy, online / offline.
CREATE TABLE IF NOT EXISTS {db}.people_events (
  tenant_id     UUID,
  site_id       UUID,
  camera_id     UUID,
  event_id      String,
  kind          String,
  zone_id       String,
  entrance      UInt8,
  track_id      Nullable(Int64),
  at            DateTime('UTC'),
  at_ms         Int64,
  dwell_s       Nullable(Float64),
  occupancy     Nullable(Int64)
) ENGINE = ReplacingMergeTree(at_ms)
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, site_id, camera_id, kind, event_id);

-- One row per finished track (a person's visit as one camera saw it): how long, how many
-- frames, how often it was re-identified after an occlusion. Counting rows estimates unique
-- visitors (a person lost longer than the tracker's buffer counts twice).
CREATE TABLE IF NOT EXISTS {db}.track_summaries (
  tenant_id     UUID,
  site_id       UUID,
  camera_id     UUID,
  track_id      Int64,
  first_seen    DateTime('UTC'),
  first_seen_ms Int64,
  last_seen_ms  Int64,
  duration_s    Float64,
  frames        Int64,
  reidentified  Int64
) ENGINE = ReplacingMergeTree(last_seen_ms)
PARTITION BY toYYYYMM(first_seen)
ORDER BY (tenant_id, site_id, camera_id, first_seen_ms, track_id);

-- Daily per camera and zone: footfall in/out, zone entries, dwell, interactions, peak occupancy.
CREATE TABLE IF NOT EXISTS {db}.people_daily (
  tenant_id     UUID,
  site_id       UUID,
  camera_id     UUID,
  zone_id       String,
  day           Date,
  entries       AggregateFunction(countIf, UInt8),
  exits         AggregateFunction(countIf, UInt8),
  zone_entries  AggregateFunction(countIf, UInt8),
  interactions  AggregateFunction(countIf, UInt8),
  dwell_avg     AggregateFunction(avgIf, Float64, UInt8),
  dwell_median  AggregateFunction(quantileIf(0.5), Float64, UInt8),
  peak_occupancy AggregateFunction(maxIf, Int64, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, site_id, camera_id, zone_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.people_daily_mv TO {db}.people_daily AS
SELECT tenant_id, site_id, camera_id, zone_id, toDate(at) AS day,
       countIfState(kind = 'entry') AS entries,
       countIfState(kind = 'exit') AS exits,
       countIfState(kind = 'zone_entry') AS zone_entries,
       countIfState(kind = 'product_interaction') AS interactions,
       avgIfState(assumeNotNull(dwell_s), kind = 'zone_exit' AND isNotNull(dwell_s)) AS dwell_avg,
       quantileIfState(0.5)(assumeNotNull(dwell_s), kind = 'zone_exit' AND isNotNull(dwell_s)) AS dwell_median,
       maxIfState(assumeNotNull(occupancy), kind = 'occupancy' AND isNotNull(occupancy)) AS peak_occupancy
FROM {db}.people_events
GROUP BY tenant_id, site_id, camera_id, zone_id, day;
