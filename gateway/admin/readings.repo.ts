import type { ApiFleetUnit, ApiReading } from '../../schemas/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';

/** A stored reading as `telemetry_v` returns it: a metric the device did not send is null. */
export interface ReadingRow {
  ts: Date;
  temperature: number | null;
  pressure: number | null;
  door: boolean | null;
  heater: boolean | null;
  compressor: boolean | null;
  fan: boolean | null;
  setpoint: number | null;
  metrics: Record<string, number> | null;
}

export const READING_COLUMNS = 'ts, temperature, pressure, door, heater, compressor, fan, setpoint, metrics';

export function toReading(r: ReadingRow): ApiReading {
  return {
    ts: iso(r.ts),
    temperature: r.temperature,
    pressure: r.pressure,
    door: r.door,
    heater: r.heater,
    compressor: r.compressor,
    fan: r.fan,
    setpoint: r.setpoint,
    metrics: r.metrics,
  };
}

/** A unit on the fleet board: the unit, its newest reading (none: `has_reading` false), its open alerts. */
interface FleetRow extends ReadingRow {
  id: string;
  site_id: string;
  name: string;
  kind: string;
  unit_setpoint: number | null;
  has_reading: boolean;
  open_alerts: number;
  worst: 'info' | 'warning' | 'critical' | null;
  _k: string;
}

/**
 * The fleet board's read up to its WHERE clause (`e` is the unit). One index probe per unit for
 * its newest reading: (equipment_id, ts) is the key.
 */
export const FLEET_SELECT = `SELECT e.id, e.site_id, e.name, e.kind, e.setpoint AS unit_setpoint, ${timeKey('e.created_at')} AS _k,
         r.ts IS NOT NULL AS has_reading, r.ts, r.temperature, r.pressure, r.door, r.heater,
         r.compressor, r.fan, r.setpoint, r.metrics,
         COALESCE(a.open, 0)::int AS open_alerts, a.worst
  FROM equipment e
  LEFT JOIN LATERAL (
    SELECT ${READING_COLUMNS} FROM telemetry_v t WHERE t.equipment_id = e.id ORDER BY t.ts DESC LIMIT 1
  ) r ON true
  LEFT JOIN LATERAL (
    SELECT count(*) AS open,
           (ARRAY['info', 'warning', 'critical'])[max(CASE severity WHEN 'critical' THEN 3
                                                      WHEN 'warning' THEN 2 ELSE 1 END)] AS worst
    FROM alerts WHERE equipment_id = e.id AND status <> 'resolved'
  ) a ON true`;

export function toFleetUnit(r: FleetRow): ApiFleetUnit {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    kind: r.kind,
    setpoint: r.unit_setpoint,
    lastReading: r.has_reading ? toReading(r) : null,
    openAlerts: r.open_alerts,
    worstSeverity: r.worst,
  };
}
