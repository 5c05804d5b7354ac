-- Hardening after a security review.
--
-- 1. An empty site list must never mean "every site". vigil_current_sites() reads an unset or
--    empty app.site_ids as "no restriction", and '{}' joined with ',' is exactly that. The API
--    now refuses [] and withTenant turns one into a site list that matches nothing; here the
--    stored rows lose the empty list as a possible value.
-- 2. maintenance_records and alerts copy the unit's site_id so that RLS can check it as a plain
--    column. Nothing made the copy equal the unit's site: a site-restricted session could file a
--    row for a unit on another site under one of its own sites. A composite foreign key does.

-- The nil UUID is the "no site" marker withTenant sets for a restricted caller with no sites:
-- no site may ever carry it, or that caller would see that site.
ALTER TABLE sites ADD CONSTRAINT sites_id_not_nil CHECK (id <> '00000000-0000-0000-0000-000000000000');

-- Rows written while the API still accepted [] kept access to every site by accident. Deny by
-- default: restrict them to the marker (no site at all) until an admin assigns real sites, and
-- withdraw pending invites that would have created such users.
UPDATE users SET site_ids = ARRAY['00000000-0000-0000-0000-000000000000']::uuid[], updated_at = now()
  WHERE cardinality(site_ids) = 0;
UPDATE invites SET site_ids = ARRAY['00000000-0000-0000-0000-000000000000']::uuid[],
                   revoked_at = CASE WHEN accepted_at IS NULL THEN COALESCE(revoked_at, now()) ELSE revoked_at END
  WHERE cardinality(site_ids) = 0;

ALTER TABLE users ADD CONSTRAINT users_site_ids_not_empty CHECK (site_ids IS NULL OR cardinality(site_ids) > 0);
ALTER TABLE invites ADD CONSTRAINT invites_site_ids_not_empty CHECK (site_ids IS NULL OR cardinality(site_ids) > 0);

-- Equipment never moves between sites (decommission and register again), so the unit's site is
-- the truth; a row that disagrees with it was misfiled and belongs to the unit's site.
UPDATE maintenance_records m SET site_id = e.site_id
  FROM equipment e
  WHERE e.tenant_id = m.tenant_id AND e.id = m.equipment_id AND e.site_id <> m.site_id;
UPDATE alerts a SET site_id = e.site_id
  FROM equipment e
  WHERE e.tenant_id = a.tenant_id AND e.id = a.equipment_id AND e.site_id <> a.site_id;

ALTER TABLE equipment ADD CONSTRAINT equipment_tenant_site_id_uq UNIQUE (tenant_id, site_id, id);
-- NO ACTION on update: moving a unit with records to another site is refused, as it should be.
ALTER TABLE maintenance_records ADD CONSTRAINT maintenance_records_unit_site_fkey
  FOREIGN KEY (tenant_id, site_id, equipment_id) REFERENCES equipment (tenant_id, site_id, id) ON DELETE CASCADE;
ALTER TABLE alerts ADD CONSTRAINT alerts_unit_site_fkey
  FOREIGN KEY (tenant_id, site_id, equipment_id) REFERENCES equipment (tenant_id, site_id, id) ON DELETE CASCADE;
