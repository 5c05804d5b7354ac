import { ApiZone, ZoneCreateBody, ZoneListQuery, ZoneUpdateBody } from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce } from './context.ts';
import { crud, guards, resource } from './route-kit.ts';
import { ZONES, insertZone, updateZone, zoneToApi } from './cameras.repo.ts';

/**
 * Zones of a camera (areas, lines, product shelves). Every change reaches the camera's live
 * actor through `ctl.camera.changed` (action `zones`); the actor also reloads them on its own.
 */
export const zoneRoutes = resource('zones', async (app, { deps }) => {
  const { reader, operator } = guards(app);

  crud(app, deps, {
    path: '/zones',
    table: ZONES,
    item: ApiZone,
    show: zoneToApi,
    audit: { type: 'zone' },
    changed: (request, row) =>
      announce(deps, request, {
        topic: 'cameraChanged',
        body: { tenantId: principalOf(request).tenantId, cameraId: row.camera_id, action: 'zones' },
      }),
    list: {
      guard: reader,
      summary: "List zones (only the caller's sites when restricted)",
      querystring: ZoneListQuery,
      column: 'created_at',
      equal: { cameraId: 'camera_id', siteId: 'site_id' },
    },
    get: { guard: reader, summary: 'One zone' },
    create: {
      guard: operator,
      summary: 'Add a zone to a camera',
      description:
        'Points are checked: ZONE_TOO_FEW_POINTS (< 3, or a line not of 2), ZONE_OUTSIDE_IMAGE (outside 0..1), ZONE_SELF_INTERSECTING (crossing edges, or no area).',
      body: ZoneCreateBody,
      insert: insertZone,
    },
    update: {
      guard: operator,
      summary: 'Update a zone (the camera is fixed); the result is checked as a whole',
      body: ZoneUpdateBody,
      write: (c, _id, body, before) => updateZone(c, before, body),
    },
    remove: { guard: operator, summary: 'Delete a zone' },
  });
});
