import type { ApiMaintenance } from '../../schemas/mod.ts';
import { VigilError } from '../../schemas/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { byId } from './route-kit.ts';

export interface MaintenanceRow {
  id: string;
  equipment_id: string;
  site_id: string;
  kind: string;
  description: string;
  technician: string | null;
  performed_at: Date;
  next_due: Date | null;
  window_start: Date | null;
  window_end: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const COLUMNS = `id, equipment_id, site_id, kind, description, technician, performed_at, next_due, window_start,
  window_end, created_by, created_at, updated_at, ${timeKey('performed_at')} AS _k`;

export function toApi(r: MaintenanceRow): ApiMaintenance {
  return {
    id: r.id,
    equipmentId: r.equipment_id,
    siteId: r.site_id,
    kind: r.kind,
    description: r.description,
    technician: r.technician,
    performedAt: iso(r.performed_at),
    nextDue: iso(r.next_due),
    windowStart: iso(r.window_start),
    windowEnd: iso(r.window_end),
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Time relations the table's CHECKs enforce too; checked here first for a readable 400. */
export function assertTimes(r: {
  performedAt: string;
  nextDue: string | null;
  windowStart: string | null;
  windowEnd: string | null;
}): void {
  const t = (s: string | null) => (s === null ? null : Date.parse(s));
  const [performed, due, start, end] = [t(r.performedAt), t(r.nextDue), t(r.windowStart), t(r.windowEnd)];
  if ((start === null) !== (end === null)) {
    throw new VigilError('VALIDATION_FAILED', 'body: windowStart and windowEnd go together');
  }
  if (start !== null && end !== null && end <= start) {
    throw new VigilError('VALIDATION_FAILED', 'body/windowEnd: must be after windowStart');
  }
  if (due !== null && performed !== null && due < performed) {
    throw new VigilError('VALIDATION_FAILED', 'body/nextDue: must not be before performedAt');
  }
}

export const getRecord = byId<MaintenanceRow>('maintenance_records', COLUMNS, 'maintenance record not found');
