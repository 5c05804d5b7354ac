-- Global alert rules (tenant_id NULL) are the platform's: readable by every tenant through RLS,
-- writable by no tenant. Platform admins change them through these SECURITY DEFINER functions,
-- which act only when the transaction's tenant is the platform tenant and only on global rows.
CREATE OR REPLACE FUNCTION vigil_in_platform_tenant() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT EXISTS (SELECT 1 FROM tenants WHERE id = vigil_current_tenant() AND is_platform) $$;

CREATE OR REPLACE FUNCTION platform_rule_create(p_key text, p_kind text, p_name text, p_params jsonb,
                                                p_latched boolean, p_enabled boolean)
  RETURNS SETOF alert_rules
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ INSERT INTO alert_rules (tenant_id, site_id, equipment_id, key, kind, name, params, latched, enabled)
        SELECT NULL, NULL, NULL, p_key, p_kind, p_name, p_params, p_latched, p_enabled
        WHERE vigil_in_platform_tenant()
        RETURNING * $$;

-- NULL arguments leave the column as it is.
CREATE OR REPLACE FUNCTION platform_rule_update(p_id uuid, p_name text, p_params jsonb, p_latched boolean,
                                                p_enabled boolean)
  RETURNS SETOF alert_rules
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ UPDATE alert_rules SET name = COALESCE(p_name, name), params = COALESCE(p_params, params),
                               latched = COALESCE(p_latched, latched), enabled = COALESCE(p_enabled, enabled),
                               updated_at = now()
        WHERE id = p_id AND tenant_id IS NULL AND vigil_in_platform_tenant()
        RETURNING * $$;

CREATE OR REPLACE FUNCTION platform_rule_delete(p_id uuid)
  RETURNS SETOF alert_rules
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ DELETE FROM alert_rules WHERE id = p_id AND tenant_id IS NULL AND vigil_in_platform_tenant()
        RETURNING * $$;

GRANT INSERT, UPDATE, DELETE ON alert_rules TO vigil_definer;
GRANT SELECT ON alert_rules TO vigil_definer;
ALTER FUNCTION vigil_in_platform_tenant() OWNER TO vigil_definer;
ALTER FUNCTION platform_rule_create(text, text, text, jsonb, boolean, boolean) OWNER TO vigil_definer;
ALTER FUNCTION platform_rule_update(uuid, text, jsonb, boolean, boolean) OWNER TO vigil_definer;
ALTER FUNCTION platform_rule_delete(uuid) OWNER TO vigil_definer;
REVOKE ALL ON FUNCTION vigil_in_platform_tenant(), platform_rule_create(text, text, text, jsonb, boolean, boolean),
  platform_rule_update(uuid, text, jsonb, boolean, boolean), platform_rule_delete(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil_in_platform_tenant(), platform_rule_create(text, text, text, jsonb, boolean, boolean),
  platform_rule_update(uuid, text, jsonb, boolean, boolean), platform_rule_delete(uuid) TO vigil_app;
