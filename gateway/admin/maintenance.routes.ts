import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApiMaintenance,
  IdParams,
  MaintenanceCreateBody,
  MaintenanceListQuery,
  MaintenanceUpdateBody,
  VigilError,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant, iso } from './context.ts';
import { guards, readOne, readPage, resource, updateById } from './route-kit.ts';
import { type MaintenanceRow, COLUMNS, toApi, assertTimes, getRecord } from './maintenance.repo.ts';

export const maintenanceRoutes = resource('maintenance', async (app, { deps }) => {
  const { reader, operator, admin } = guards(app);
  // Maintenance windows suppress alerts: the alert engine reloads the unit's windows on this.
  const changed = (request: FastifyRequest, equipmentId: string) =>
    announce(deps, request, {
      topic: 'maintenanceChanged',
      body: { tenantId: principalOf(request).tenantId, equipmentId },
    });

  readPage(
    app,
    deps,
    '/maintenance',
    {
      guard: reader,
      summary: 'List maintenance records, newest first',
      querystring: MaintenanceListQuery,
      response: ApiMaintenance,
      column: 'performed_at',
      select: `SELECT ${COLUMNS} FROM maintenance_records`,
      filter: (q, w) => {
        if (q.equipmentId) w.and(`equipment_id = ${w.p(q.equipmentId)}`);
        if (q.siteId) w.and(`site_id = ${w.p(q.siteId)}`);
        if (q.kind) w.and(`kind = ${w.p(q.kind)}`);
        if (q.from) w.and(`performed_at >= ${w.p(q.from)}`);
        if (q.to) w.and(`performed_at < ${w.p(q.to)}`);
        if (q.dueBefore) w.and(`next_due < ${w.p(q.dueBefore)}`);
      },
    },
    toApi,
  );
  const one = { guard: reader, summary: 'One maintenance record', response: ApiMaintenance };
  readOne(app, deps, '/maintenance/:id', one, getRecord, toApi);

  app.post(
    '/maintenance',
    {
      ...operator,
      schema: {
        summary: 'Record maintenance (operators and admins)',
        description:
          'windowStart/windowEnd, when given, is a period in which new alerts of the unit are flagged suppressed.',
        body: MaintenanceCreateBody,
        response: { 201: ApiMaintenance },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const times = {
        performedAt: body.performedAt,
        nextDue: body.nextDue ?? null,
        windowStart: body.windowStart ?? null,
        windowEnd: body.windowEnd ?? null,
      };
      assertTimes(times);
      const row = await inTenant(deps, request, async (c) => {
        // The unit must be visible to the caller (tenant and site restriction); its site is copied.
        const { rows: units } = await c.query<{ site_id: string }>(
          'SELECT site_id FROM equipment WHERE id = $1',
          [body.equipmentId],
        );
        const unit = units[0];
        if (!unit) throw new VigilError('NOT_FOUND', 'equipment not found');
        const { rows } = await c.query<MaintenanceRow>(
          `INSERT INTO maintenance_records (tenant_id, site_id, equipment_id, kind, description, technician,
             performed_at, next_due, window_start, window_end, created_by)
           VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING ${COLUMNS}`,
          [
            unit.site_id,
            body.equipmentId,
            body.kind,
            body.description ?? '',
            body.technician ?? null,
            times.performedAt,
            times.nextDue,
            times.windowStart,
            times.windowEnd,
            principalOf(request).userId,
          ],
        );
        const created = rows[0]!;
        await audit(c, request, {
          action: 'maintenance.create',
          targetType: 'maintenance',
          targetId: created.id,
          after: body,
        });
        return created;
      });
      await changed(request, row.equipment_id);
      return reply.code(201).send(toApi(row));
    },
  );

  app.patch(
    '/maintenance/:id',
    {
      ...operator,
      schema: {
        summary: 'Correct a maintenance record (operators and admins)',
        params: IdParams,
        body: MaintenanceUpdateBody,
        response: { 200: ApiMaintenance },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getRecord(c, id, true);
        const pick = (v: string | null | undefined, old: Date | null) => (v === undefined ? iso(old) : v);
        assertTimes({
          performedAt: body.performedAt ?? iso(before.performed_at),
          nextDue: pick(body.nextDue, before.next_due),
          windowStart: pick(body.windowStart, before.window_start),
          windowEnd: pick(body.windowEnd, before.window_end),
        });
        const after = await updateById<MaintenanceRow>(
          c,
          'maintenance_records',
          id,
          body,
          {
            kind: 'kind',
            description: 'description',
            technician: 'technician',
            performedAt: 'performed_at',
            nextDue: 'next_due',
            windowStart: 'window_start',
            windowEnd: 'window_end',
          },
          COLUMNS,
        );
        await audit(c, request, {
          action: 'maintenance.update',
          targetType: 'maintenance',
          targetId: id,
          before: toApi(before),
          after: body,
        });
        return after;
      });
      await changed(request, row.equipment_id);
      return toApi(row);
    },
  );

  app.delete(
    '/maintenance/:id',
    {
      ...admin,
      schema: {
        summary: 'Delete a maintenance record (tenant admins)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const before = await inTenant(deps, request, async (c) => {
        const before = await getRecord(c, id, true);
        await c.query('DELETE FROM maintenance_records WHERE id = $1', [id]);
        await audit(c, request, {
          action: 'maintenance.delete',
          targetType: 'maintenance',
          targetId: id,
          before: toApi(before),
        });
        return before;
      });
      await changed(request, before.equipment_id);
      return reply.code(204).send(null);
    },
  );
});
