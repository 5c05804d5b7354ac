import {
  ApiMaintenance,
  MaintenanceCreateBody,
  MaintenanceListQuery,
  MaintenanceUpdateBody,
  MaintenanceVerifyBody,
} from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { announce, audit, inTenant } from './context.ts';
import { checkMaintenance, DEFAULT_RECOVERY_MINUTES, storeCheck, verifyInput } from './maintenance-verify.ts';
import { crud, resource, route } from './route-kit.ts';
import {
  RECORDS,
  RECORD_FIELDS,
  assertCorrectedTimes,
  assertNewTimes,
  insertRecord,
  toApi,
} from './maintenance.repo.ts';

export const maintenanceRoutes = resource('maintenance', async (app, { deps }) => {
  crud(app, deps, {
    path: '/maintenance',
    table: RECORDS,
    item: ApiMaintenance,
    show: toApi,
    audit: { type: 'maintenance' },
    // Maintenance windows suppress alerts: the alert engine reloads the unit's windows on this.
    changed: (request, row) =>
      announce(deps, request, {
        topic: 'maintenanceChanged',
        body: { tenantId: principalOf(request).tenantId, equipmentId: row.equipment_id },
      }),
    list: {
      guard: 'viewer',
      summary: 'List maintenance records, newest first',
      querystring: MaintenanceListQuery,
      column: 'performed_at',
      equal: { equipmentId: 'equipment_id', siteId: 'site_id', kind: 'kind' },
      filter: (q, w) => {
        if (q.from) w.and(`performed_at >= ${w.p(q.from)}`);
        if (q.to) w.and(`performed_at < ${w.p(q.to)}`);
        if (q.dueBefore) w.and(`next_due < ${w.p(q.dueBefore)}`);
      },
    },
    get: { guard: 'viewer', summary: 'One maintenance record' },
    create: {
      guard: 'operator',
      summary: 'Record maintenance (operators and admins)',
      description:
        'windowStart/windowEnd, when given, is a period in which new alerts of the unit are flagged suppressed.',
      body: MaintenanceCreateBody,
      validate: assertNewTimes,
      insert: (c, body, request) => insertRecord(c, body, principalOf(request).userId),
    },
    update: {
      guard: 'operator',
      summary: 'Correct a maintenance record (operators and admins)',
      body: MaintenanceUpdateBody,
      check: (_c, before, body) => assertCorrectedTimes(before, body),
      columns: RECORD_FIELDS,
    },
    remove: { guard: 'tenant_admin', summary: 'Delete a maintenance record (tenant admins)' },
  });

  route(app, 'POST', '/maintenance/:id/verify', 'operator', {
    summary:
      'Verify maintenance: someone at the unit during the window, the temperature back in band after it',
    description:
      "Someone must have been seen in the unit's watched camera zone (`watchZoneId`) during the record's window, " +
      'and a reading inside setpoint ± bandC must follow the window within recoveryMinutes. The check is kept on ' +
      'the record (`verification`, `verifiedAt`); `blocker` says what an undecided check lacked.',
    body: MaintenanceVerifyBody,
    response: ApiMaintenance,
    handler: async (request) => {
      const { id } = request.params;
      const body = request.body;
      const input = await inTenant(deps, request, (c) =>
        verifyInput(c, id, body.recoveryMinutes ?? DEFAULT_RECOVERY_MINUTES),
      );
      // ClickHouse is read outside any transaction: a slow query holds no connection.
      const check = await checkMaintenance(deps.ch, principalOf(request).tenantId, input, body, Date.now());
      return inTenant(deps, request, async (c) => {
        await RECORDS.get(c, id, true);
        await storeCheck(c, id, check);
        await audit(c, request, {
          action: 'maintenance.verify',
          targetType: 'maintenance',
          targetId: id,
          after: check,
        });
        return toApi(await RECORDS.get(c, id));
      });
    },
  });
});
