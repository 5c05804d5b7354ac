import type { FastifyRequest } from 'fastify';
import {
  AlertAckBody,
  AlertListQuery,
  AlertResolveBody,
  AlertSnoozeBody,
  AlertTimelineQuery,
  ApiAlert,
  ApiAlertTimelineEntry,
  Page,
  VigilError,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import {
  ALERTS,
  addTimeline,
  lockOpenAlert,
  toApi,
  updateAlert,
  type AlertRow,
  type TimelineRow,
} from './alerts.repo.ts';
import { publishAlertActions } from './alert-actions.ts';
import { announce, inTenant, iso, type AdminDeps } from './context.ts';
import { decodeCursor, page } from './pagination.ts';
import { crud, resource, route } from './route-kit.ts';

/**
 * Tell the alert's actor what a person did: `closed` (it forgets the alert; the next breach
 * opens a new one) or `acknowledged` (a latched alert then resolves when its condition clears).
 */
function tellActor(
  deps: AdminDeps,
  request: FastifyRequest,
  row: AlertRow,
  what: 'closed' | 'acknowledged',
): Promise<void> {
  // A camera's alert has no actor holding it: its status lives in the database alone.
  if (row.equipment_id === null) return Promise.resolve();
  // A lost notice is not fatal: the actor also reads its alerts' status from the database when
  // it restores and when it refreshes its unit.
  const body = {
    tenantId: principalOf(request).tenantId,
    equipmentId: row.equipment_id,
    alertId: row.id,
    ruleKey: row.rule_key,
  };
  return announce(deps, request, { topic: what === 'closed' ? 'alertClosed' : 'alertAcknowledged', body });
}

export const alertRoutes = resource('alerts', async (app, { deps }) => {
  crud(app, deps, {
    path: '/alerts',
    table: ALERTS,
    item: ApiAlert,
    show: toApi,
    list: {
      guard: 'viewer',
      summary: 'List alerts, newest first',
      querystring: AlertListQuery,
      column: 'opened_at',
      equal: { siteId: 'site_id', equipmentId: 'equipment_id', severity: 'severity', ruleKey: 'rule_key' },
      filter: (q, w) => {
        if (q.status === 'open') w.and(`status <> 'resolved'`);
        else if (q.status) w.and(`status = ${w.p(q.status)}`);
        if (q.from) w.and(`opened_at >= ${w.p(q.from)}`);
        if (q.to) w.and(`opened_at < ${w.p(q.to)}`);
      },
    },
    get: { guard: 'viewer', summary: 'One alert' },
  });

  route(app, 'POST', '/alerts/:id/ack', 'operator', {
    summary: 'Acknowledge an active alert (operators and admins)',
    description:
      'A latched alert whose condition has already cleared is closed by its acknowledgement ' +
      '(status resolved); one still in breach resolves when its condition clears.',
    body: AlertAckBody,
    response: ApiAlert,
    handler: async (request) => {
      const { id } = request.params;
      const note = request.body.note ?? null;
      const userId = principalOf(request).userId;
      const { row, entries } = await inTenant(deps, request, async (c) => {
        const before = await lockOpenAlert(c, id, true);
        const release = before.latched && before.cleared_at !== null;
        const row = await updateAlert(
          c,
          id,
          `status = $2, acknowledged_at = now(), acknowledged_by = $3,
           resolved_at = CASE WHEN $4::boolean THEN now() END, resolved_by = CASE WHEN $4::boolean THEN $3::uuid END,
           note = COALESCE($5, note)`,
          [release ? 'resolved' : 'acknowledged', userId, release, note],
        );
        const entries = [await addTimeline(c, id, request, 'acknowledged', note)];
        if (release)
          entries.push(
            await addTimeline(c, id, request, 'resolved', null, {
              reason: 'latched alert released by acknowledgement',
            }),
          );
        return { row, entries };
      });
      await tellActor(deps, request, row, row.status === 'resolved' ? 'closed' : 'acknowledged');
      await publishAlertActions(deps, request, row, entries);
      return toApi(row);
    },
  });

  route(app, 'POST', '/alerts/:id/resolve', 'operator', {
    summary: 'Resolve an alert by hand; a note is required (operators and admins)',
    body: AlertResolveBody,
    response: ApiAlert,
    handler: async (request) => {
      const { id } = request.params;
      const { note } = request.body;
      const userId = principalOf(request).userId;
      const { row, entry } = await inTenant(deps, request, async (c) => {
        await lockOpenAlert(c, id);
        const row = await updateAlert(
          c,
          id,
          `status = 'resolved', resolved_at = now(), resolved_by = $2, note = $3`,
          [userId, note],
        );
        const entry = await addTimeline(c, id, request, 'resolved', note, { manual: true });
        return { row, entry };
      });
      await tellActor(deps, request, row, 'closed');
      await publishAlertActions(deps, request, row, [entry]);
      return toApi(row);
    },
  });

  route(app, 'POST', '/alerts/:id/snooze', 'operator', {
    summary: 'Snooze notifications of an open alert for a period (operators and admins)',
    body: AlertSnoozeBody,
    response: ApiAlert,
    handler: async (request) => {
      const { id } = request.params;
      const body = request.body;
      const { row, entry } = await inTenant(deps, request, async (c) => {
        await lockOpenAlert(c, id);
        const row = await updateAlert(c, id, 'snoozed_until = now() + make_interval(mins => $2)', [
          body.minutes,
        ]);
        const entry = await addTimeline(c, id, request, 'snoozed', body.note ?? null, {
          minutes: body.minutes,
        });
        return { row, entry };
      });
      // Other dashboards show the snooze at once; the notifier's reminders read snoozed_until.
      await publishAlertActions(deps, request, row, [entry]);
      return toApi(row);
    },
  });

  route(app, 'GET', '/alerts/:id/timeline', 'viewer', {
    summary: "An alert's timeline, oldest first",
    querystring: AlertTimelineQuery,
    response: Page(ApiAlertTimelineEntry),
    handler: async (request) => {
      const { id } = request.params;
      const q = request.query;
      const limit = q.limit ?? 50;
      const cursor = decodeCursor(q.cursor, 'int');
      return inTenant(deps, request, async (c) => {
        // The alert itself decides visibility (tenant and site); the timeline follows it.
        const { rowCount } = await c.query('SELECT 1 FROM alerts WHERE id = $1', [id]);
        if (!rowCount) throw new VigilError('NOT_FOUND', 'alert not found');
        const { rows } = await c.query<TimelineRow & { _k: string }>(
          `SELECT id, at, action, actor_id, note, data, id::text AS _k FROM alert_timeline
           WHERE alert_id = $1 AND ($2::bigint IS NULL OR id > $2::bigint)
           ORDER BY id ASC LIMIT $3`,
          [id, cursor?.id ?? null, limit + 1],
        );
        return page(rows, limit, (r) => ({
          id: r.id,
          at: iso(r.at),
          action: r.action,
          actorId: r.actor_id,
          note: r.note,
          data: r.data,
        }));
      });
    },
  });
});
