import { ApiSite, SiteCreateBody, SiteListQuery, SiteUpdateBody } from '../../schemas/mod.ts';
import { crud, resource } from './route-kit.ts';
import { SITES, assertNoEquipment, assertTimezone, insertSite, toApi } from './sites.repo.ts';

export const siteRoutes = resource('sites', async (app, { deps }) => {
  crud(app, deps, {
    path: '/sites',
    table: SITES,
    item: ApiSite,
    show: toApi,
    audit: { type: 'site', before: (r) => ({ name: r.name, timezone: r.timezone, address: r.address }) },
    list: {
      guard: 'viewer',
      summary: "List sites (only the caller's sites when restricted)",
      querystring: SiteListQuery,
      column: 'created_at',
    },
    get: { guard: 'viewer', summary: 'One site' },
    create: {
      guard: 'tenant_admin',
      summary: 'Create a site',
      body: SiteCreateBody,
      validate: (body) => assertTimezone(body.timezone),
      insert: insertSite,
    },
    update: {
      guard: 'tenant_admin',
      summary: 'Update a site',
      body: SiteUpdateBody,
      validate: (body) => assertTimezone(body.timezone),
      columns: { name: 'name', timezone: 'timezone', address: 'address' },
    },
    remove: {
      guard: 'tenant_admin',
      summary: 'Delete a site without equipment',
      description: '409 CONFLICT while equipment (in service or decommissioned) still belongs to the site.',
      check: assertNoEquipment,
      audited: (r) => ({ name: r.name, timezone: r.timezone }),
    },
  });
});
