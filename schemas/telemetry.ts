import { Type, type Static } from '@sinclair/typebox';
import { VigilError, type ErrorCode } from './errors.ts';
import { compile, describeErrors } from './validate.ts';
import { describeTime } from './text.ts';

/** On/off signals arrive as booleans, 0/1 (controllers) or words (gateways). */
const Switch = Type.Union([
  Type.Boolean(),
  Type.Literal(0),
  Type.Literal(1),
  Type.Union(['on', 'off', 'open', 'closed'].map((s) => Type.Literal(s))),
]);

/**
 * A reading as a device sends it, over NATS (`tele.<tenant>.<equipment>`) or
 * `POST /v1/telemetry`. Strict: unknown top-level fields are refused; extra numeric metrics
 * belong in `metrics`.
 */
export const TelemetryIn = Type.Object(
  {
    ts: Type.Optional(
      Type.Union([
        Type.String({ format: 'date-time', description: 'ISO-8601 device time' }),
        Type.Integer({ minimum: 0, description: 'epoch milliseconds' }),
      ]),
    ),
    temperature: Type.Optional(Type.Number({ minimum: -100, maximum: 200, description: '°C' })),
    pressure: Type.Optional(Type.Number({ minimum: -100, maximum: 10000 })),
    door: Type.Optional(Switch),
    heater: Type.Optional(Switch),
    compressor: Type.Optional(Switch),
    fan: Type.Optional(Switch),
    setpoint: Type.Optional(Type.Number({ minimum: -100, maximum: 200 })),
    metrics: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), Type.Number(), {
        maxProperties: 32,
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false, $id: 'TelemetryIn' },
);
export type TelemetryIn = Static<typeof TelemetryIn>;

/** A reading after validation: booleans normalised, time resolved to epoch ms. */
export interface Reading {
  tenantId: string;
  equipmentId: string;
  ts: number;
  temperature?: number;
  pressure?: number;
  door?: boolean;
  heater?: boolean;
  compressor?: boolean;
  fan?: boolean;
  setpoint?: number;
  metrics?: Record<string, number>;
}

export const MAX_READING_BYTES = 8 * 1024;

export interface ReadingBounds {
  /** Reference "now" (server time). */
  now: number;
  /** When the message reached Vigil: the fallback device time, stable across redeliveries. */
  receivedAt: number;
  maxAgeMs: number;
  maxSkewMs: number;
}

export type ParseResult = { ok: true; reading: Reading } | { ok: false; code: ErrorCode; reason: string };

const checkIn = compile(TelemetryIn);

function toSwitch(v: boolean | 0 | 1 | string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return v === true || v === 1 || v === 'on' || v === 'open';
}

export function resolveTs(ts: string | number | undefined, receivedAt: number): number {
  if (ts === undefined) return receivedAt;
  return typeof ts === 'number' ? ts : Date.parse(ts);
}

const MEASUREMENTS = ['temperature', 'pressure', 'door', 'heater', 'compressor', 'fan', 'setpoint'] as const;
const MEASUREMENT_LIST = `${MEASUREMENTS.join(', ')} or a metric`;

/** Validate an already-decoded object. Pure: the caller supplies both clocks. */
export function normalizeReading(
  value: unknown,
  ids: { tenantId: string; equipmentId: string },
  bounds: ReadingBounds,
): ParseResult {
  if (!checkIn(value)) {
    const errors = (checkIn as unknown as { errors: Parameters<typeof describeErrors>[0] }).errors;
    const unknown = errors?.some((e) => e.keyword === 'additionalProperties' && e.instancePath === '');
    const range = errors?.some((e) => e.keyword === 'minimum' || e.keyword === 'maximum');
    return {
      ok: false,
      code: unknown ? 'UNKNOWN_FIELD' : range ? 'VALUE_OUT_OF_RANGE' : 'VALIDATION_FAILED',
      reason: describeErrors(errors),
    };
  }
  // JSON has no Infinity, but 1e400 parses to it; it would be stored as null.
  const infinite = [
    value.temperature,
    value.pressure,
    value.setpoint,
    ...Object.values(value.metrics ?? {}),
  ].some((v) => v !== undefined && !Number.isFinite(v));
  if (infinite) return { ok: false, code: 'VALUE_OUT_OF_RANGE', reason: '/: a value is not a finite number' };
  const ts = resolveTs(value.ts, bounds.receivedAt);
  if (!Number.isFinite(ts)) return { ok: false, code: 'VALIDATION_FAILED', reason: '/ts: not a date' };
  if (ts > bounds.now + bounds.maxSkewMs) {
    return { ok: false, code: 'TIMESTAMP_OUT_OF_RANGE', reason: `/ts: ${describeTime(ts)} is in the future` };
  }
  if (ts < bounds.now - bounds.maxAgeMs) {
    return { ok: false, code: 'TIMESTAMP_OUT_OF_RANGE', reason: `/ts: ${describeTime(ts)} is too old` };
  }
  if (!MEASUREMENTS.some((k) => value[k] !== undefined) && Object.keys(value.metrics ?? {}).length === 0) {
    // `{}` would be stored as a reading of nothing, and could satisfy a no-data rule.
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      reason: `/: a reading carries at least one of ${MEASUREMENT_LIST}`,
    };
  }
  const reading: Reading = { tenantId: ids.tenantId, equipmentId: ids.equipmentId, ts };
  if (value.temperature !== undefined) reading.temperature = value.temperature;
  if (value.pressure !== undefined) reading.pressure = value.pressure;
  if (value.setpoint !== undefined) reading.setpoint = value.setpoint;
  const door = toSwitch(value.door);
  if (door !== undefined) reading.door = door;
  const heater = toSwitch(value.heater);
  if (heater !== undefined) reading.heater = heater;
  const compressor = toSwitch(value.compressor);
  if (compressor !== undefined) reading.compressor = compressor;
  const fan = toSwitch(value.fan);
  if (fan !== undefined) reading.fan = fan;
  if (value.metrics && Object.keys(value.metrics).length) reading.metrics = value.metrics;
  return { ok: true, reading };
}

/**
 * Decode and validate raw message bytes. Everything a device can get wrong ends here as a
 * coded reason, never as an exception: the consumer dead-letters it and moves on.
 */
export function parseReading(
  bytes: Uint8Array,
  ids: { tenantId: string; equipmentId: string },
  bounds: ReadingBounds,
): ParseResult {
  if (bytes.byteLength > MAX_READING_BYTES) {
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `${bytes.byteLength} bytes > ${MAX_READING_BYTES}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'BAD_JSON', reason: (err as Error).message };
  }
  return normalizeReading(value, ids, bounds);
}

/** Throwing variant for HTTP ingress, where the error becomes a 4xx response. */
export function requireReading(
  value: unknown,
  ids: { tenantId: string; equipmentId: string },
  bounds: ReadingBounds,
): Reading {
  const r = normalizeReading(value, ids, bounds);
  if (!r.ok) throw new VigilError(r.code, r.reason);
  return r.reading;
}
