-- Roles, tenancy helpers and the core tenant tables.
--
-- vigil_app     the gateway. Owns nothing, no BYPASSRLS: every row it sees passes RLS.
-- vigil_ingest  the telemetry writer. Writes telemetry, reads nothing else.
-- vigil_worker  actor nodes and event sinks: a multi-tenant system component that loads every
--               tenant's rules and equipment and writes alerts; BYPASSRLS, narrow grants.
-- vigil_definer owns the few SECURITY DEFINER functions that must look across tenants
--               before a tenant is known (login by email, API key lookup).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
    CREATE ROLE vigil_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_ingest') THEN
    CREATE ROLE vigil_ingest LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_worker') THEN
    CREATE ROLE vigil_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_definer') THEN
    CREATE ROLE vigil_definer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS;
  END IF;
END $$;

-- Nobody but the owner creates objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO vigil_app, vigil_ingest, vigil_worker, vigil_definer;

CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- The transaction's tenant, set with set_config('app.tenant_id', $1, true). Unset → NULL →
-- every policy comparison is NULL → no rows.
CREATE OR REPLACE FUNCTION vigil_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- Site restriction of the caller ('' or unset = every site of the tenant).
CREATE OR REPLACE FUNCTION vigil_current_sites() RETURNS uuid[]
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN COALESCE(current_setting('app.site_ids', true), '') = '' THEN NULL
                    ELSE string_to_array(current_setting('app.site_ids', true), ',')::uuid[] END $$;

CREATE OR REPLACE FUNCTION vigil_site_visible(site uuid) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT vigil_current_sites() IS NULL OR site = ANY (vigil_current_sites()) $$;

CREATE TABLE tenants (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone    text NOT NULL DEFAULT 'UTC',
  address     text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);

CREATE TABLE users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email          citext NOT NULL UNIQUE,
  name           text NOT NULL DEFAULT '',
  password_hash  text NOT NULL,
  role           text NOT NULL CHECK (role IN ('platform_admin', 'tenant_admin', 'operator', 'viewer')),
  -- NULL: every site of the tenant. Only operators and viewers may be restricted.
  site_ids       uuid[],
  disabled_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  CHECK (site_ids IS NULL OR role IN ('operator', 'viewer'))
);

CREATE TABLE equipment (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  site_id           uuid NOT NULL,
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  serial            text,
  kind              text NOT NULL DEFAULT 'freezer'
                    CHECK (kind IN ('freezer', 'chiller', 'cold_room', 'display_case', 'other')),
  setpoint          double precision,
  decommissioned_at timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (tenant_id, serial),
  UNIQUE (tenant_id, id)
);
CREATE INDEX equipment_site_idx ON equipment (tenant_id, site_id);

-- API keys are 256-bit random strings: SHA-256 is the right hash (a slow KDF buys nothing
-- against brute force of that space and would cost on every request).
CREATE TABLE equipment_api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL,
  equipment_id  uuid NOT NULL,
  key_hash      bytea NOT NULL UNIQUE,
  prefix        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  FOREIGN KEY (tenant_id, equipment_id) REFERENCES equipment (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX equipment_api_keys_equipment_idx ON equipment_api_keys (tenant_id, equipment_id);

-- Rules: tenant_id NULL = global (platform-managed). The most specific scope per key wins.
CREATE TABLE alert_rules (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid REFERENCES tenants (id) ON DELETE CASCADE,
  site_id       uuid,
  equipment_id  uuid,
  key           text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
  kind          text NOT NULL CHECK (kind IN ('threshold', 'no_data', 'door_open', 'defrost_overrun', 'rate')),
  name          text NOT NULL DEFAULT '',
  -- Kind-specific parameters, validated by the TypeBox rule schema before they get here.
  params        jsonb NOT NULL,
  latched       boolean NOT NULL DEFAULT false,
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (site_id IS NULL OR tenant_id IS NOT NULL),
  CHECK (equipment_id IS NULL OR tenant_id IS NOT NULL),
  FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, equipment_id) REFERENCES equipment (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX alert_rules_scope_key_uq ON alert_rules (
  COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'),
  COALESCE(site_id, '00000000-0000-0000-0000-000000000000'),
  COALESCE(equipment_id, '00000000-0000-0000-0000-000000000000'),
  key);

CREATE TABLE alerts (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  site_id       uuid NOT NULL,
  equipment_id  uuid NOT NULL,
  rule_id       uuid,
  rule_key      text NOT NULL,
  severity      text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'acknowledged', 'resolved')),
  message       text NOT NULL DEFAULT '',
  value         double precision,
  threshold     double precision,
  opened_at     timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  cleared_at    timestamptz,
  resolved_at   timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by uuid,
  resolved_by   uuid,
  note          text,
  latched       boolean NOT NULL DEFAULT false,
  suppressed    boolean NOT NULL DEFAULT false,
  snoozed_until timestamptz,
  FOREIGN KEY (tenant_id, equipment_id) REFERENCES equipment (tenant_id, id) ON DELETE CASCADE
);
-- One open alert per (unit, rule key).
CREATE UNIQUE INDEX alerts_open_uq ON alerts (equipment_id, rule_key) WHERE status <> 'resolved';
CREATE INDEX alerts_tenant_status_idx ON alerts (tenant_id, status, opened_at DESC);

CREATE TABLE alert_timeline (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL,
  alert_id    uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  -- Id of the event that caused this entry: a redelivered event adds nothing.
  event_id    text NOT NULL,
  at          timestamptz NOT NULL,
  action      text NOT NULL,
  actor_id    uuid,
  note        text,
  data        jsonb NOT NULL DEFAULT '{}',
  UNIQUE (alert_id, event_id)
);

-- RLS: enabled and forced on every tenant table. Tables with a site get the site restriction too.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON tenants USING (id = vigil_current_tenant()) WITH CHECK (id = vigil_current_tenant());

ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE sites FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sites
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(id));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

ALTER TABLE equipment ENABLE ROW LEVEL SECURITY;
ALTER TABLE equipment FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON equipment
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

ALTER TABLE equipment_api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE equipment_api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON equipment_api_keys
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_rules FORCE ROW LEVEL SECURITY;
-- Global rules (tenant_id NULL) are readable by every tenant, writable by none through this role.
CREATE POLICY tenant_read ON alert_rules FOR SELECT
  USING ((tenant_id IS NULL AND vigil_current_tenant() IS NOT NULL) OR tenant_id = vigil_current_tenant());
CREATE POLICY tenant_write ON alert_rules FOR ALL
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alerts
  USING (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id))
  WITH CHECK (tenant_id = vigil_current_tenant() AND vigil_site_visible(site_id));

ALTER TABLE alert_timeline ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_timeline FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_timeline
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, sites, users, equipment, equipment_api_keys,
  alert_rules, alerts, alert_timeline TO vigil_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vigil_app, vigil_worker;
GRANT SELECT ON tenants, sites, equipment, alert_rules TO vigil_worker;
GRANT SELECT, INSERT, UPDATE ON alerts, alert_timeline TO vigil_worker;

-- Lookups that must happen before the tenant is known. They return the minimum needed.
CREATE OR REPLACE FUNCTION auth_user_by_email(p_email text)
  RETURNS TABLE (id uuid, tenant_id uuid, password_hash text, role text, site_ids uuid[], disabled boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT u.id, u.tenant_id, u.password_hash, u.role, u.site_ids, u.disabled_at IS NOT NULL
        FROM users u JOIN tenants t ON t.id = u.tenant_id
        WHERE u.email = p_email::citext AND t.status = 'active' $$;

CREATE OR REPLACE FUNCTION auth_equipment_by_key_hash(p_hash bytea)
  RETURNS TABLE (tenant_id uuid, equipment_id uuid, site_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.tenant_id, k.equipment_id, e.site_id
        FROM equipment_api_keys k
        JOIN equipment e ON e.id = k.equipment_id AND e.tenant_id = k.tenant_id
        JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_hash = p_hash AND k.revoked_at IS NULL AND e.decommissioned_at IS NULL
          AND t.status = 'active' $$;

GRANT SELECT ON tenants, users, equipment, equipment_api_keys TO vigil_definer;
ALTER FUNCTION auth_user_by_email(text) OWNER TO vigil_definer;
ALTER FUNCTION auth_equipment_by_key_hash(bytea) OWNER TO vigil_definer;
REVOKE ALL ON FUNCTION auth_user_by_email(text), auth_equipment_by_key_hash(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_equipment_by_key_hash(bytea) TO vigil_app;
