-- Retail metrics, promotions and insights (SPEC §7). Tenant tables under the same row-level
-- security as equipment: tenant first, then the caller's site restriction.
--
-- metrics_daily holds one row per (site, local day, scope): the site, each camera, each zone.
-- It is derived data: a recompute of a day replaces that day's rows of the site in one
-- transaction (late events), so reading it never mixes two computations.

CREATE TABLE metrics_daily (
  tenant_id      uuid NOT NULL,
  site_id        uuid NOT NULL,
  -- The site's local calendar day (cut at its local midnight).
  day            date NOT NULL,
  scope          text NOT NULL CHECK (scope IN ('site', 'camera', 'zone')),
  camera_id      uuid,
  -- The camera actor's zone id, as in ClickHouse people_events.
  zone_id        text CHECK (zone_id IS NULL OR length(zone_id) BETWEEN 1 AND 200),
  footfall       integer NOT NULL CHECK (footfall >= 0),
  unique_visitors_estimate integer NOT NULL CHECK (unique_visitors_estimate >= 0),
  zone_entries   integer NOT NULL CHECK (zone_entries >= 0),
  dwell_avg_s    double precision,
  dwell_median_s double precision,
  interactions   integer NOT NULL CHECK (interactions >= 0),
  peak_occupancy integer,
  peak_at        timestamptz,
  hourly         integer[] NOT NULL CHECK (cardinality(hourly) = 24),
  computed_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id) ON DELETE CASCADE,
  CHECK ((scope = 'site') = (camera_id IS NULL)),
  CHECK ((scope = 'zone') = (zone_id IS NOT NULL))
);
CREATE UNIQUE INDEX metrics_daily_key ON metrics_daily
  (tenant_id, site_id, day, scope, coalesce(camera_id, '00000000-0000-0000-0000-000000000000'), coalesce(zone_id, ''));

-- Promotions and events: a period (local days, both included) at some sites (and zones).
CREATE TABLE promotions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  from_day      date NOT NULL,
  to_day        date NOT NULL,
  site_ids      uuid[] NOT NULL CHECK (cardinality(site_ids) BETWEEN 1 AND 100),
  -- NULL: the sites as a whole; otherwise these zones' rows.
  zone_ids      text[] CHECK (zone_ids IS NULL OR cardinality(zone_ids) BETWEEN 1 AND 100),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (to_day >= from_day AND to_day - from_day < 366)
);
CREATE INDEX promotions_tenant_idx ON promotions (tenant_id, created_at DESC, id DESC);

-- Insights, cached per site and period: the findings as written (and as a model phrased them).
CREATE TABLE insights (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL,
  site_id       uuid NOT NULL,
  from_day      date NOT NULL,
  to_day        date NOT NULL,
  findings      jsonb NOT NULL CHECK (jsonb_typeof(findings) = 'array'),
  -- The model that phrased them; NULL: Vigil's own text throughout.
  model         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (tenant_id, site_id, from_day, to_day)
);
CREATE INDEX insights_tenant_idx ON insights (tenant_id, created_at DESC, id DESC);

ALTER TABLE metrics_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON metrics_daily
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

-- A promotion spans sites: a site-restricted user sees it only when every one of its sites is
-- theirs (a promotion's name and period at another site are that site's business).
ALTER TABLE promotions ENABLE ROW LEVEL SECURITY;
ALTER TABLE promotions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON promotions
  USING (tenant_id = vigil_current_tenant() AND (vigil_current_sites() IS NULL OR site_ids <@ vigil_current_sites()))
  WITH CHECK (tenant_id = vigil_current_tenant() AND (vigil_current_sites() IS NULL OR site_ids <@ vigil_current_sites()));

ALTER TABLE insights ENABLE ROW LEVEL SECURITY;
ALTER TABLE insights FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON insights
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

GRANT SELECT, INSERT, DELETE ON metrics_daily TO vigil_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON promotions, insights TO vigil_app;
