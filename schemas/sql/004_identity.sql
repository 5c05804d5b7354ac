-- Identity and the management API: refresh tokens, invites, maintenance records, audit log,
-- the platform tenant, and tighter site restriction on tables whose rows hang off a site.
--
-- Same rules as 001: every tenant table has tenant_id, RLS ENABLEd and FORCEd, vigil_app owns
-- nothing and gets only the grants it needs. Lookups that must cross tenants (before the tenant
-- is known, or for a platform admin) are SECURITY DEFINER functions owned by vigil_definer,
-- returning the minimum, executable only by vigil_app.

-- Platform admins are users too, so they live in a tenant: exactly one tenant is the platform.
ALTER TABLE tenants ADD COLUMN is_platform boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX tenants_one_platform_uq ON tenants ((true)) WHERE is_platform;
CREATE INDEX tenants_created_idx ON tenants (created_at DESC, id DESC);

ALTER TABLE users ADD COLUMN last_login_at timestamptz;
ALTER TABLE users ADD CONSTRAINT users_email_length CHECK (length(email) BETWEEN 3 AND 254);
CREATE INDEX users_tenant_created_idx ON users (tenant_id, created_at DESC, id DESC);
CREATE INDEX sites_tenant_created_idx ON sites (tenant_id, created_at DESC, id DESC);
CREATE INDEX equipment_tenant_created_idx ON equipment (tenant_id, created_at DESC, id DESC);
CREATE INDEX alert_rules_tenant_created_idx ON alert_rules (tenant_id, created_at DESC, id DESC);

-- Opaque refresh tokens, stored as SHA-256 (256-bit random values: a slow hash buys nothing).
-- Each use spends the token and issues the next one in the same family; presenting a spent
-- token again means it was copied, so the whole family is revoked.
CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL,
  user_id     uuid NOT NULL,
  family_id   uuid NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (tenant_id, user_id, expires_at);

-- Invites: the token is shown once to the inviting admin and stored hashed; single use.
CREATE TABLE invites (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email             citext NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  role              text NOT NULL CHECK (role IN ('tenant_admin', 'operator', 'viewer')),
  site_ids          uuid[],
  token_hash        bytea NOT NULL UNIQUE,
  created_by        uuid,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  accepted_at       timestamptz,
  accepted_user_id  uuid,
  revoked_at        timestamptz,
  CHECK (site_ids IS NULL OR role IN ('operator', 'viewer')),
  CHECK (expires_at > created_at)
);
CREATE INDEX invites_tenant_created_idx ON invites (tenant_id, created_at DESC, id DESC);

-- Maintenance records (SPEC §5). site_id is the unit's site, copied on insert so the site
-- restriction is a plain column check; equipment never moves between sites (decommission and
-- register again), so it cannot go stale. window_start/window_end, when set, is the period in
-- which the alert engine flags new alerts of the unit as suppressed.
CREATE TABLE maintenance_records (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL,
  site_id       uuid NOT NULL,
  equipment_id  uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('inspection', 'preventive', 'repair', 'cleaning', 'defrost',
                                             'calibration', 'refrigerant', 'part_replacement', 'other')),
  description   text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
  technician    text CHECK (length(technician) <= 200),
  performed_at  timestamptz NOT NULL,
  next_due      timestamptz,
  window_start  timestamptz,
  window_end    timestamptz,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, equipment_id) REFERENCES equipment (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id) ON DELETE CASCADE,
  CHECK ((window_start IS NULL) = (window_end IS NULL)),
  CHECK (window_end IS NULL OR window_end > window_start),
  CHECK (next_due IS NULL OR next_due >= performed_at)
);
CREATE INDEX maintenance_equipment_idx ON maintenance_records (tenant_id, equipment_id, performed_at DESC);
CREATE INDEX maintenance_tenant_idx ON maintenance_records (tenant_id, performed_at DESC, id DESC);
CREATE INDEX maintenance_window_idx ON maintenance_records (equipment_id, window_end) WHERE window_end IS NOT NULL;

-- Who changed what. Append-only for the app role: SELECT and INSERT, never UPDATE or DELETE.
-- tenant_id is the tenant the change happened in; actor_tenant_id differs from it when a
-- platform admin acted across tenants.
CREATE TABLE audit_log (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  actor_user_id    uuid,
  actor_tenant_id  uuid,
  actor_role       text,
  action           text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
  target_type      text NOT NULL,
  target_id        text,
  before           jsonb,
  after            jsonb,
  request_id       text,
  ip               text,
  at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);

-- RLS on the new tables.
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE invites FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invites
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

ALTER TABLE maintenance_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE maintenance_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON maintenance_records
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON audit_log FOR SELECT USING (tenant_id = vigil_current_tenant());
CREATE POLICY tenant_append ON audit_log FOR INSERT WITH CHECK (tenant_id = vigil_current_tenant());

-- Site restriction in depth for rows that belong to a site only through another row: the
-- EXISTS runs under the referenced table's own policy, which carries the site check. Without a
-- restriction (vigil_current_sites() IS NULL) the subquery is skipped.
DROP POLICY tenant_isolation ON alert_timeline;
CREATE POLICY tenant_isolation ON alert_timeline
  USING (tenant_id = vigil_current_tenant()
         AND (vigil_current_sites() IS NULL
              OR EXISTS (SELECT 1 FROM alerts a WHERE a.id = alert_timeline.alert_id)))
  WITH CHECK (tenant_id = vigil_current_tenant()
              AND (vigil_current_sites() IS NULL
                   OR EXISTS (SELECT 1 FROM alerts a WHERE a.id = alert_timeline.alert_id)));

DROP POLICY tenant_isolation ON equipment_api_keys;
CREATE POLICY tenant_isolation ON equipment_api_keys
  USING (tenant_id = vigil_current_tenant()
         AND (vigil_current_sites() IS NULL
              OR EXISTS (SELECT 1 FROM equipment e WHERE e.id = equipment_api_keys.equipment_id)))
  WITH CHECK (tenant_id = vigil_current_tenant()
              AND (vigil_current_sites() IS NULL
                   OR EXISTS (SELECT 1 FROM equipment e WHERE e.id = equipment_api_keys.equipment_id)));

-- Rules scoped to a site or unit the caller cannot see are invisible too; global rules stay
-- readable by every tenant. 001's write policy was FOR ALL, and permissive policies are OR-ed,
-- so it also granted SELECT of every tenant rule regardless of site: split it per command.
CREATE OR REPLACE FUNCTION vigil_rule_visible(p_tenant uuid, p_site uuid, p_equipment uuid) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT p_tenant = vigil_current_tenant()
               AND (p_site IS NULL OR vigil_site_visible(p_site))
               AND (p_equipment IS NULL OR vigil_current_sites() IS NULL
                    OR EXISTS (SELECT 1 FROM equipment e WHERE e.id = p_equipment)) $$;
DROP POLICY tenant_read ON alert_rules;
DROP POLICY tenant_write ON alert_rules;
CREATE POLICY tenant_read ON alert_rules FOR SELECT
  USING ((tenant_id IS NULL AND vigil_current_tenant() IS NOT NULL)
         OR vigil_rule_visible(tenant_id, site_id, equipment_id));
CREATE POLICY tenant_insert ON alert_rules FOR INSERT
  WITH CHECK (vigil_rule_visible(tenant_id, site_id, equipment_id));
CREATE POLICY tenant_update ON alert_rules FOR UPDATE
  USING (vigil_rule_visible(tenant_id, site_id, equipment_id))
  WITH CHECK (vigil_rule_visible(tenant_id, site_id, equipment_id));
CREATE POLICY tenant_delete ON alert_rules FOR DELETE
  USING (vigil_rule_visible(tenant_id, site_id, equipment_id));

GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens, invites, maintenance_records TO vigil_app;
GRANT SELECT, INSERT ON audit_log TO vigil_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO vigil_app;
-- The alert engine reads maintenance windows to flag suppressed alerts.
GRANT SELECT ON maintenance_records TO vigil_worker;

-- Refresh: the token arrives before the tenant is known.
CREATE OR REPLACE FUNCTION auth_refresh_token(p_hash bytea)
  RETURNS TABLE (id uuid, tenant_id uuid, user_id uuid, family_id uuid, expires_at timestamptz,
                 used_at timestamptz, revoked_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT r.id, r.tenant_id, r.user_id, r.family_id, r.expires_at, r.used_at, r.revoked_at
        FROM refresh_tokens r JOIN tenants t ON t.id = r.tenant_id
        WHERE r.token_hash = p_hash AND t.status = 'active' $$;

-- Accepting an invite: likewise before the tenant is known.
CREATE OR REPLACE FUNCTION auth_invite_by_hash(p_hash bytea)
  RETURNS TABLE (id uuid, tenant_id uuid, email text, role text, site_ids uuid[], expires_at timestamptz,
                 accepted_at timestamptz, revoked_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT i.id, i.tenant_id, i.email::text, i.role, i.site_ids, i.expires_at, i.accepted_at, i.revoked_at
        FROM invites i JOIN tenants t ON t.id = i.tenant_id
        WHERE i.token_hash = p_hash AND t.status = 'active' $$;

-- The platform tenant's id (nothing else about it), for provisioning platform admins.
CREATE OR REPLACE FUNCTION platform_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM tenants WHERE is_platform $$;

-- The one cross-tenant listing: every tenant, a page at a time, and only when the
-- transaction's tenant is the platform tenant (so a tenant admin's session gets nothing even
-- if the route check were bypassed).
CREATE OR REPLACE FUNCTION platform_tenants_page(p_after_created timestamptz, p_after_id uuid, p_limit integer)
  RETURNS SETOF tenants
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT t.* FROM tenants t
        WHERE EXISTS (SELECT 1 FROM tenants p WHERE p.id = vigil_current_tenant() AND p.is_platform)
          AND (p_after_created IS NULL OR (t.created_at, t.id) < (p_after_created, p_after_id))
        ORDER BY t.created_at DESC, t.id DESC
        LIMIT least(greatest(p_limit, 1), 201) $$;

GRANT SELECT ON refresh_tokens, invites TO vigil_definer;
ALTER FUNCTION auth_refresh_token(bytea) OWNER TO vigil_definer;
ALTER FUNCTION auth_invite_by_hash(bytea) OWNER TO vigil_definer;
ALTER FUNCTION platform_tenant_id() OWNER TO vigil_definer;
ALTER FUNCTION platform_tenants_page(timestamptz, uuid, integer) OWNER TO vigil_definer;
REVOKE ALL ON FUNCTION auth_refresh_token(bytea), auth_invite_by_hash(bytea), platform_tenant_id(),
  platform_tenants_page(timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_refresh_token(bytea), auth_invite_by_hash(bytea), platform_tenant_id(),
  platform_tenants_page(timestamptz, uuid, integer) TO vigil_app;
