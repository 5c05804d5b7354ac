import type { ApiReading } from '../../schemas/mod.ts';
import { iso } from './context.ts';

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
