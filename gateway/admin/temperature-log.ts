import { VigilError, type PoolClient } from '../../schemas/mod.ts';

/**
 * The temperature log a food-safety inspection asks for (HACCP): for a unit or a site and a
 * period, the temperature at a chosen interval, every excursion with its alert, and the
 * corrective actions taken (acknowledge and resolve notes, maintenance). Read in one tenant
 * transaction through the views and RLS-covered tables, so it shows exactly what the caller may
 * see. Rendered as CSV here and as PDF in temperature-log.pdf.ts.
 */

export const LOG_INTERVALS = { '5m': 5, '15m': 15, '30m': 30, '1h': 60, '4h': 240 } as const;
export type LogInterval = keyof typeof LOG_INTERVALS;
const MAX_SPAN_MS = 31 * 86_400_000;
const MAX_ROWS = 100_000;

export interface LogUnit {
  id: string;
  name: string;
  site: string;
  setpoint: number | null;
}

export interface LogReading {
  equipmentId: string;
  at: Date;
  readings: number;
  min: number | null;
  avg: number | null;
  max: number | null;
}

export interface LogExcursion {
  alertId: string;
  equipmentId: string;
  rule: string;
  severity: string;
  openedAt: Date;
  clearedAt: Date | null;
  resolvedAt: Date | null;
  value: number | null;
  threshold: number | null;
  message: string;
}

export interface LogAction {
  at: Date;
  equipmentId: string;
  /** `acknowledged` / `resolved` (of an alert) or `maintenance:<kind>`. */
  kind: string;
  by: string | null;
  note: string;
  alertId: string | null;
}

export interface TemperatureLog {
  title: string;
  from: Date;
  to: Date;
  interval: LogInterval;
  units: LogUnit[];
  readings: LogReading[];
  excursions: LogExcursion[];
  actions: LogAction[];
}

export interface LogRequest {
  equipmentId?: string | undefined;
  siteId?: string | undefined;
  from: Date;
  to: Date;
  interval: LogInterval;
}

export function checkLogRequest(r: LogRequest): void {
  if ((r.equipmentId === undefined) === (r.siteId === undefined))
    throw new VigilError('VALIDATION_FAILED', 'querystring: name exactly one of equipmentId, siteId');
  if (r.to <= r.from) throw new VigilError('VALIDATION_FAILED', 'querystring: from must be before to');
  if (r.to.getTime() - r.from.getTime() > MAX_SPAN_MS)
    throw new VigilError('VALIDATION_FAILED', 'querystring: at most 31 days per export');
}

export async function loadTemperatureLog(c: PoolClient, r: LogRequest): Promise<TemperatureLog> {
  const { rows: units } = await c.query<{ id: string; name: string; site: string; setpoint: number | null }>(
    `SELECT e.id, e.name, s.name AS site, e.setpoint FROM equipment e JOIN sites s ON s.id = e.site_id
     WHERE ${r.equipmentId ? 'e.id = $1' : 'e.site_id = $1'} ORDER BY s.name, e.name, e.id`,
    [r.equipmentId ?? r.siteId],
  );
  if (units.length === 0 && r.equipmentId) throw new VigilError('NOT_FOUND', 'equipment not found');
  if (r.siteId) {
    const site = await c.query('SELECT 1 FROM sites WHERE id = $1', [r.siteId]);
    if (!site.rowCount) throw new VigilError('NOT_FOUND', 'site not found');
  }
  const ids = units.map((u) => u.id);
  const minutes = LOG_INTERVALS[r.interval];
  const buckets = Math.ceil((r.to.getTime() - r.from.getTime()) / (minutes * 60_000));
  if (buckets * ids.length > MAX_ROWS)
    throw new VigilError(
      'VALIDATION_FAILED',
      'querystring: too many rows; choose a longer interval or period',
    );
  const readings = await c.query<{
    equipment_id: string;
    at: Date;
    n: number;
    min: number | null;
    avg: number | null;
    max: number | null;
  }>(
    `SELECT equipment_id, date_bin(make_interval(mins => $4), ts, $2::timestamptz) AS at, count(*)::int AS n,
            min(temperature) AS min, avg(temperature) AS avg, max(temperature) AS max
     FROM telemetry_v WHERE equipment_id = ANY ($1) AND ts >= $2 AND ts < $3
     GROUP BY 1, 2 ORDER BY 2, 1`,
    [ids, r.from, r.to, minutes],
  );
  const excursions = await c.query<{
    id: string;
    equipment_id: string;
    rule_key: string;
    severity: string;
    opened_at: Date;
    cleared_at: Date | null;
    resolved_at: Date | null;
    value: number | null;
    threshold: number | null;
    message: string;
  }>(
    `SELECT id, equipment_id, rule_key, severity, opened_at, cleared_at, resolved_at, value, threshold, message
     FROM alerts WHERE equipment_id = ANY ($1) AND opened_at < $3 AND (resolved_at IS NULL OR resolved_at >= $2)
     ORDER BY opened_at, id`,
    [ids, r.from, r.to],
  );
  const actions = await c.query<{
    at: Date;
    equipment_id: string;
    kind: string;
    by: string | null;
    note: string | null;
    alert_id: string | null;
  }>(
    `SELECT t.at, a.equipment_id, t.action AS kind, u.name AS by, t.note, t.alert_id
     FROM alert_timeline t JOIN alerts a ON a.id = t.alert_id LEFT JOIN users u ON u.id = t.actor_id
     WHERE a.equipment_id = ANY ($1) AND t.at >= $2 AND t.at < $3 AND t.action IN ('acknowledged', 'resolved')
     UNION ALL
     SELECT m.performed_at, m.equipment_id, 'maintenance:' || m.kind,
            COALESCE(m.technician, u.name), m.description, NULL
     FROM maintenance_records m LEFT JOIN users u ON u.id = m.created_by
     WHERE m.equipment_id = ANY ($1) AND m.performed_at >= $2 AND m.performed_at < $3
     ORDER BY 1, 2`,
    [ids, r.from, r.to],
  );
  const scope = r.equipmentId ? units[0]!.name : (units[0]?.site ?? 'site');
  return {
    title: `Temperature log: ${scope}`,
    from: r.from,
    to: r.to,
    interval: r.interval,
    units,
    readings: readings.rows.map((x) => ({
      equipmentId: x.equipment_id,
      at: x.at,
      readings: x.n,
      min: x.min,
      avg: x.avg,
      max: x.max,
    })),
    excursions: excursions.rows.map((x) => ({
      alertId: x.id,
      equipmentId: x.equipment_id,
      rule: x.rule_key,
      severity: x.severity,
      openedAt: x.opened_at,
      clearedAt: x.cleared_at,
      resolvedAt: x.resolved_at,
      value: x.value,
      threshold: x.threshold,
      message: x.message,
    })),
    actions: actions.rows.map((x) => ({
      at: x.at,
      equipmentId: x.equipment_id,
      kind: x.kind,
      by: x.by,
      note: x.note ?? '',
      alertId: x.alert_id,
    })),
  };
}

/** RFC 4180 field; a leading =, +, - or @ is prefixed so a spreadsheet never runs it as a formula. */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);

/**
 * Three sections, each with its own header row, separated by a blank line: readings, excursions,
 * corrective actions. Temperatures in °C, times ISO-8601 UTC.
 */
export function temperatureLogCsv(log: TemperatureLog): string {
  const unit = new Map(log.units.map((u) => [u.id, u]));
  const line = (fields: (string | number | null)[]) => fields.map(csvField).join(',');
  const out = [
    line([
      'section',
      'unit',
      'site',
      'interval_start',
      'readings',
      'temperature_min',
      'temperature_avg',
      'temperature_max',
      'setpoint',
    ]),
    ...log.readings.map((r) =>
      line([
        'reading',
        unit.get(r.equipmentId)?.name ?? r.equipmentId,
        unit.get(r.equipmentId)?.site ?? '',
        r.at.toISOString(),
        r.readings,
        round(r.min),
        round(r.avg),
        round(r.max),
        unit.get(r.equipmentId)?.setpoint ?? null,
      ]),
    ),
    '',
    line([
      'section',
      'unit',
      'alert_id',
      'rule',
      'severity',
      'opened_at',
      'cleared_at',
      'resolved_at',
      'value',
      'threshold',
      'message',
    ]),
    ...log.excursions.map((e) =>
      line([
        'excursion',
        unit.get(e.equipmentId)?.name ?? e.equipmentId,
        e.alertId,
        e.rule,
        e.severity,
        e.openedAt.toISOString(),
        e.clearedAt?.toISOString() ?? null,
        e.resolvedAt?.toISOString() ?? null,
        e.value,
        e.threshold,
        e.message,
      ]),
    ),
    '',
    line(['section', 'unit', 'at', 'action', 'by', 'note', 'alert_id']),
    ...log.actions.map((a) =>
      line([
        'action',
        unit.get(a.equipmentId)?.name ?? a.equipmentId,
        a.at.toISOString(),
        a.kind,
        a.by,
        a.note,
        a.alertId,
      ]),
    ),
  ];
  return `${out.join('\r\n')}\r\n`;
}
