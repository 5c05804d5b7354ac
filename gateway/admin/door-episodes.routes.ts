import { ApiDoorEpisodes, DoorEpisodesQuery, MAX_DOOR_EPISODE_DAYS, VigilError } from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { inTenant } from './context.ts';
import { doorReadings, doorUnit, episodesReport, zonePresence } from './door-episodes.repo.ts';
import { resource, route } from './route-kit.ts';

const DAY_MS = 86_400_000;

/**
 * The cross-signal over history: a unit's door-open episodes from its stored readings, each
 * labelled attended or unattended by the people the camera saw in the unit's watched zone
 * (ClickHouse people events), with a count per local day. The same labels the live
 * `unattended_door` rule stands on.
 */
export const doorEpisodeRoutes = resource('equipment', async (app, { deps }) => {
  route(app, 'GET', '/equipment/:id/door-episodes', 'viewer', {
    summary: "A unit's door-open episodes, attended or unattended, and their count per day",
    description:
      `At most ${MAX_DOOR_EPISODE_DAYS} days. An episode is attended when someone was seen in the unit's ` +
      'watched camera zone (`watchZoneId`) during it or within 5 s of it; a unit that watches no zone has its ' +
      'episodes unlabelled (null).',
    querystring: DoorEpisodesQuery,
    response: ApiDoorEpisodes,
    handler: async (request) => {
      const { id } = request.params;
      const from = Date.parse(request.query.from);
      const to = Date.parse(request.query.to);
      if (!(to > from)) throw new VigilError('VALIDATION_FAILED', 'querystring/to: must be after from');
      if (to - from > MAX_DOOR_EPISODE_DAYS * DAY_MS)
        throw new VigilError('VALIDATION_FAILED', `querystring: at most ${MAX_DOOR_EPISODE_DAYS} days`);
      const { unit, readings } = await inTenant(deps, request, async (c) => {
        const u = await doorUnit(c, id);
        return { unit: u, readings: await doorReadings(c, id, from, to) };
      });
      const presence = unit.watch_zone_id
        ? await zonePresence(
            deps.ch,
            principalOf(request).tenantId,
            unit.site_id,
            unit.watch_zone_id,
            from,
            to,
          )
        : null;
      return episodesReport(unit, from, to, readings, presence);
    },
  });
});
