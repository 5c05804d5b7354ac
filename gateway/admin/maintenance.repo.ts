import type {
  ApiMaintenance,
  MaintenanceCreateBody,
  MaintenanceUpdateBody,
  MaintenanceVerification,
} from '../../schemas/mod.ts';
import { VigilError, type PoolClient } from '../../schemas/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { Table } from './table.ts';

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
  verified_at: Date | null;
  verification: MaintenanceVerification | null;
  _k: string;
}

export const COLUMNS = `id, equipment_id, site_id, kind, description, technician, performed_at, next_due, window_start,
  window_end, created_by, created_at, updated_at, verified_at, verification, ${timeKey('performed_at')} AS _k`;

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
    verifiedAt: iso(r.verified_at),
    verification: r.verification,
  };
}

interface Times {
  performedAt: string;
  nextDue: string | null;
  windowStart: string | null;
  windowEnd: string | null;
}

/** The times a new record will have. */
function timesOf(body: MaintenanceCreateBody): Times {
  return {
    performedAt: body.performedAt,
    nextDue: body.nextDue ?? null,
    windowStart: body.windowStart ?? null,
    windowEnd: body.windowEnd ?? null,
  };
}

/** Time relations the table's CHECKs enforce too; checked here first for a readable 400. */
function assertTimes(r: Times): void {
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

export const assertNewTimes = (body: MaintenanceCreateBody): void => assertTimes(timesOf(body));

/** The times a record will have once `body` corrects it, checked as a whole. */
export function assertCorrectedTimes(before: MaintenanceRow, body: MaintenanceUpdateBody): void {
  const pick = (v: string | null | undefined, old: Date | null) => (v === undefined ? iso(old) : v);
  assertTimes({
    performedAt: body.performedAt ?? iso(before.performed_at),
    nextDue: pick(body.nextDue, before.next_due),
    windowStart: pick(body.windowStart, before.window_start),
    windowEnd: pick(body.windowEnd, before.window_end),
  });
}

export const RECORDS = new Table<MaintenanceRow>(
  'maintenance_records',
  COLUMNS,
  'maintenance record not found',
);

/** API field → column, for corrections. */
export const RECORD_FIELDS = {
  kind: 'kind',
  description: 'description',
  technician: 'technician',
  performedAt: 'performed_at',
  nextDue: 'next_due',
  windowStart: 'window_start',
  windowEnd: 'window_end',
};

/** The unit must be visible to the caller (tenant and site restriction); its site is copied. */
export async function insertRecord(
  c: PoolClient,
  body: MaintenanceCreateBody,
  createdBy: string,
): Promise<MaintenanceRow> {
  const { rows: units } = await c.query<{ site_id: string }>('SELECT site_id FROM equipment WHERE id = $1', [
    body.equipmentId,
  ]);
  const unit = units[0];
  if (!unit) throw new VigilError('NOT_FOUND', 'equipment not found');
  const times = timesOf(body);
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
      createdBy,
    ],
  );
  return rows[0]!;
}
