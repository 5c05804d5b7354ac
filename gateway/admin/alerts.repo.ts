import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { VigilError, type ApiAlert, type PoolClient } from '../../schemas/mod.ts';
import { principalOf } from '../identity/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { Table } from './table.ts';

export interface AlertRow {
  id: string;
  site_id: string;
  equipment_id: string | null;
  camera_id: string | null;
  zone_id: string | null;
  rule_id: string | null;
  rule_key: string;
  severity: ApiAlert['severity'];
  status: ApiAlert['status'];
  message: string;
  value: number | null;
  threshold: number | null;
  latched: boolean;
  suppressed: boolean;
  opened_at: Date;
  updated_at: Date;
  cleared_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  snoozed_until: Date | null;
  note: string | null;
  _k: string;
}

export const COLUMNS = `id, site_id, equipment_id, camera_id, zone_id, rule_id, rule_key, severity, status, message, value, threshold, latched,
  suppressed, opened_at, updated_at, cleared_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
  snoozed_until, note, ${timeKey('opened_at')} AS _k`;
export const ALERTS = new Table<AlertRow>('alerts', COLUMNS, 'alert not found');

/**
 * The alert a person acts on, locked for the change: INVALID_STATE when it is resolved, or,
 * for an action only an active alert takes (acknowledge), when it is not active.
 */
export async function lockOpenAlert(c: PoolClient, id: string, activeOnly = false): Promise<AlertRow> {
  const alert = await ALERTS.get(c, id, true);
  if (alert.status === 'resolved' || (activeOnly && alert.status !== 'active'))
    throw new VigilError('INVALID_STATE', `the alert is ${alert.status}`);
  return alert;
}

/** `UPDATE alerts SET <set>, updated_at = now()` of one alert: `$1` is its id, `$2…` are `values`. */
export async function updateAlert(
  c: PoolClient,
  id: string,
  set: string,
  values: unknown[],
): Promise<AlertRow> {
  const { rows } = await c.query<AlertRow>(
    `UPDATE alerts SET ${set}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, ...values],
  );
  return rows[0]!;
}

export function toApi(r: AlertRow): ApiAlert {
  return {
    id: r.id,
    siteId: r.site_id,
    equipmentId: r.equipment_id,
    cameraId: r.camera_id,
    zoneId: r.zone_id,
    ruleId: r.rule_id,
    ruleKey: r.rule_key,
    severity: r.severity,
    status: r.status,
    message: r.message,
    value: r.value,
    threshold: r.threshold,
    latched: r.latched,
    suppressed: r.suppressed,
    openedAt: iso(r.opened_at),
    updatedAt: iso(r.updated_at),
    clearedAt: iso(r.cleared_at),
    acknowledgedAt: iso(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    resolvedAt: iso(r.resolved_at),
    resolvedBy: r.resolved_by,
    snoozedUntil: iso(r.snoozed_until),
    note: r.note,
  };
}

export interface TimelineRow {
  id: number;
  at: Date;
  action: string;
  actor_id: string | null;
  note: string | null;
  data: unknown;
}

/** A person's timeline entry as written: the event that announces it reuses its id and instant. */
export interface TimelineEntry {
  id: number;
  eventId: string;
  at: Date;
  action: string;
  by: string;
  note: string | null;
}

/** A timeline entry for a person's action; the event id is fresh, so it never collides with actor events. */
export async function addTimeline(
  c: PoolClient,
  alertId: string,
  request: FastifyRequest,
  action: string,
  note: string | null,
  data: Record<string, unknown> = {},
): Promise<TimelineEntry> {
  const p = principalOf(request);
  const { rows } = await c.query<{ id: string; event_id: string; at: Date }>(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, actor_id, note, data)
     VALUES (vigil_current_tenant(), $1, $2, now(), $3, $4, $5, $6)
     RETURNING id::text AS id, event_id, at`,
    [
      alertId,
      `api:${randomUUID()}`,
      action,
      p.userId,
      note,
      JSON.stringify({ ...data, actingFrom: p.actingFrom ?? undefined }),
    ],
  );
  const row = rows[0]!;
  return { id: Number(row.id), eventId: row.event_id, at: row.at, action, by: p.userId, note };
}
