import type { FastifyRequest } from 'fastify';
import {
  AlertAckBody,
  AlertListQuery,
  AlertResolveBody,
  AlertSnoozeBody,
  AlertTimelineQuery,
  ApiAlert,
  ApiAlertTimelineEntry,
  IdParams,
  Page,
  VigilError,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import {
  ALERTS,
  COLUMNS,
  addTimeline,
  getAlert,
  toApi,
  type AlertRow,
  type TimelineRow,
} from './alerts.repo.ts';
import { announce, inTenant, iso, type AdminDeps } from './context.ts';
import { decodeCursor, page } from './pagination.ts';
import { crud, guards, resource } from './route-kit.ts';

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
  const { reader, operator } = guards(app);

  crud(app, deps, {
    path: '/alerts',
    table: ALERTS,
    item: ApiAlert,
    show: toApi,
    list: {
      guard: reader,
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
    get: { guard: reader, summary: 'One alert' },
  });

  app.post(
    '/alerts/:id/ack',
    {
      ...operator,
      schema: {
        summary: 'Acknowledge an active alert (operators and admins)',
        description:
          'A latched alert whose condition has already cleared is closed by its acknowledgement ' +
          '(status resolved); one still in breach resolves when its condition clears.',
        params: IdParams,
        body: AlertAckBody,
        response: { 200: ApiAlert },
      },
    },
    async (request) => {
      const { id } = request.params;
      const note = request.body.note ?? null;
      const userId = principalOf(request).userId;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getAlert(c, id, true);
        if (before.status !== 'active')
          throw new VigilError('INVALID_STATE', `the alert is ${before.status}`);
        const release = before.latched && before.cleared_at !== null;
        const { rows } = await c.query<AlertRow>(
          `UPDATE alerts SET status = $2, acknowledged_at = now(), acknowledged_by = $3,
             resolved_at = CASE WHEN $4::boolean THEN now() END, resolved_by = CASE WHEN $4::boolean THEN $3::uuid END,
             note = COALESCE($5, note), updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, release ? 'resolved' : 'acknowledged', userId, release, note],
        );
        await addTimeline(c, id, request, 'acknowledged', note);
        if (release)
          await addTimeline(c, id, request, 'resolved', null, {
            reason: 'latched alert released by acknowledgement',
          });
        return rows[0]!;
      });
      await tellActor(deps, request, row, row.status === 'resolved' ? 'closed' : 'acknowledged');
      return toApi(row);
    },
  );

  app.post(
    '/alerts/:id/resolve',
    {
      ...operator,
      schema: {
        summary: 'Resolve an alert by hand; a note is required (operators and admins)',
        params: IdParams,
        body: AlertResolveBody,
        response: { 200: ApiAlert },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { note } = request.body;
      const userId = principalOf(request).userId;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getAlert(c, id, true);
        if (before.status === 'resolved') throw new VigilError('INVALID_STATE', 'the alert is resolved');
        const { rows } = await c.query<AlertRow>(
          `UPDATE alerts SET status = 'resolved', resolved_at = now(), resolved_by = $2, note = $3, updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, userId, note],
        );
        await addTimeline(c, id, request, 'resolved', note, { manual: true });
        return rows[0]!;
      });
      await tellActor(deps, request, row, 'closed');
      return toApi(row);
    },
  );

  app.post(
    '/alerts/:id/snooze',
    {
      ...operator,
      schema: {
        summary: 'Snooze notifications of an open alert for a period (operators and admins)',
        params: IdParams,
        body: AlertSnoozeBody,
        response: { 200: ApiAlert },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getAlert(c, id, true);
        if (before.status === 'resolved') throw new VigilError('INVALID_STATE', 'the alert is resolved');
        const { rows } = await c.query<AlertRow>(
          `UPDATE alerts SET snoozed_until = now() + make_interval(mins => $2), updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, body.minutes],
        );
        await addTimeline(c, id, request, 'snoozed', body.note ?? null, { minutes: body.minutes });
        return rows[0]!;
      });
      return toApi(row);
    },
  );

  app.get(
    '/alerts/:id/timeline',
    {
      ...reader,
      schema: {
        summary: "An alert's timeline, oldest first",
        params: IdParams,
        querystring: AlertTimelineQuery,
        response: { 200: Page(ApiAlertTimelineEntry) },
      },
    },
    async (request) => {
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
  );
});
