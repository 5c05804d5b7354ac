-- Accounts belong to one tenant, and an email is unique within a tenant only.
--
-- With emails unique across tenants, a tenant admin could learn whether an address has an
-- account in another tenant: invite it, accept the invite, read the 409. No answer may depend on
-- another tenant's data, so the same address may now hold an account in several tenants. Login
-- finds every account of an address and opens the one the password opens; when one password
-- opens several, the caller names the tenant by slug (auth_user_by_email returns it).

ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email);
-- Login looks accounts up by email alone.
CREATE INDEX users_email ON users (email);

DROP FUNCTION auth_user_by_email(text);
CREATE FUNCTION auth_user_by_email(p_email text)
  RETURNS TABLE (id uuid, tenant_id uuid, tenant_slug text, password_hash text, role text, site_ids uuid[],
                 disabled boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT u.id, u.tenant_id, t.slug::text, u.password_hash, u.role, u.site_ids, u.disabled_at IS NOT NULL
        FROM users u JOIN tenants t ON t.id = u.tenant_id
        WHERE u.email = p_email::citext AND t.status = 'active'
        ORDER BY u.created_at, u.id $$;
ALTER FUNCTION auth_user_by_email(text) OWNER TO vigil_definer;
REVOKE ALL ON FUNCTION auth_user_by_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text) TO vigil_app;
