import type { ApiEquipment, ApiKeyIssued } from '../../schemas/mod.ts';
import { VigilError, type PoolClient } from '../../schemas/mod.ts';
import { newApiKey } from '../identity/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { Table } from './table.ts';

export interface EquipmentRow {
  id: string;
  site_id: string;
  name: string;
  serial: string | null;
  kind: ApiEquipment['kind'];
  setpoint: number | null;
  watch_zone_id: string | null;
  api_key_prefix: string | null;
  decommissioned_at: Date | null;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

/** The active key's prefix comes along (at most one active key per unit). */
const COLUMNS = `e.id, e.site_id, e.name, e.serial, e.kind, e.setpoint, e.watch_zone_id, e.decommissioned_at, e.created_at, e.updated_at,
    ${timeKey('e.created_at')} AS _k,
    (SELECT k.prefix FROM equipment_api_keys k WHERE k.equipment_id = e.id AND k.revoked_at IS NULL
     ORDER BY k.created_at DESC LIMIT 1) AS api_key_prefix`;

export const EQUIPMENT = new Table<EquipmentRow>('equipment', COLUMNS, 'equipment not found', {
  from: 'equipment e',
  idColumn: 'e.id',
  lock: 'FOR UPDATE OF e',
});
export const getEquipment = EQUIPMENT.get;

/** API field → column, for partial updates. */
export const EQUIPMENT_FIELDS = {
  name: 'name',
  serial: 'serial',
  kind: 'kind',
  setpoint: 'setpoint',
  watchZoneId: 'watch_zone_id',
};

export function assertInService(unit: EquipmentRow): void {
  if (unit.decommissioned_at) throw new VigilError('INVALID_STATE', 'the equipment is decommissioned');
}

/**
 * A watched zone must be a zone of the unit's own site (the foreign key says so too; this says
 * it with a message). Null unlinks.
 */
export async function assertWatchZone(
  c: PoolClient,
  siteId: string,
  zoneId: string | null | undefined,
): Promise<void> {
  if (zoneId === null || zoneId === undefined) return;
  const { rowCount } = await c.query('SELECT 1 FROM zones WHERE id = $1 AND site_id = $2', [zoneId, siteId]);
  if (!rowCount) throw new VigilError('VALIDATION_FAILED', "body/watchZoneId: not a zone of the unit's site");
}

export function toApi(r: EquipmentRow): ApiEquipment {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    serial: r.serial,
    kind: r.kind,
    setpoint: r.setpoint,
    watchZoneId: r.watch_zone_id,
    apiKeyPrefix: r.api_key_prefix,
    decommissionedAt: iso(r.decommissioned_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Revoke the unit's keys and issue a new one; the key itself exists only in this response. */
export async function issueKey(
  c: PoolClient,
  equipmentId: string,
): Promise<ApiKeyIssued & { revoked: number }> {
  const { rowCount } = await c.query(
    'UPDATE equipment_api_keys SET revoked_at = now() WHERE equipment_id = $1 AND revoked_at IS NULL',
    [equipmentId],
  );
  const k = newApiKey();
  const { rows } = await c.query<{ created_at: Date }>(
    `INSERT INTO equipment_api_keys (tenant_id, equipment_id, key_hash, prefix)
     VALUES (vigil_current_tenant(), $1, $2, $3) RETURNING created_at`,
    [equipmentId, k.hash, k.prefix],
  );
  return { apiKey: k.key, prefix: k.prefix, createdAt: iso(rows[0]!.created_at), revoked: rowCount ?? 0 };
}
