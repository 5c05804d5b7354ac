import { Type, type Static } from '@sinclair/typebox';
import { NullableNumber, PageQuery, Timestamp, Uuid } from './http.ts';
import { Severity } from './events.ts';

const Flag = Type.Union([Type.Boolean(), Type.Null()]);

/** A stored reading as the API returns it (the units of schemas/telemetry.ts). */
export const ApiReading = Type.Object({
  ts: Timestamp,
  temperature: NullableNumber,
  pressure: NullableNumber,
  door: Flag,
  heater: Flag,
  compressor: Flag,
  fan: Flag,
  setpoint: NullableNumber,
  metrics: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
});
export type ApiReading = Static<typeof ApiReading>;

/** One unit on the fleet board: what it is, its latest reading, and its open alerts. */
export const ApiFleetUnit = Type.Object({
  id: Uuid,
  siteId: Uuid,
  name: Type.String(),
  kind: Type.String(),
  setpoint: NullableNumber,
  lastReading: Type.Union([ApiReading, Type.Null()]),
  openAlerts: Type.Integer({ minimum: 0 }),
  worstSeverity: Type.Union([Severity, Type.Null()]),
});
export type ApiFleetUnit = Static<typeof ApiFleetUnit>;

export const FleetQuery = Type.Object(
  { ...PageQuery.properties, siteId: Type.Optional(Uuid) },
  { additionalProperties: false },
);
export type FleetQuery = Static<typeof FleetQuery>;

export const RollupBucket = Type.Union([Type.Literal('1h'), Type.Literal('1d')]);
export type RollupBucket = Static<typeof RollupBucket>;

export const ReadingsQuery = Type.Object(
  {
    ...PageQuery.properties,
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    /** `raw` (default): stored readings, paged newest first; `1h` / `1d`: rollups, oldest first. */
    bucket: Type.Optional(Type.Union([Type.Literal('raw'), RollupBucket])),
  },
  { additionalProperties: false },
);
export type ReadingsQuery = Static<typeof ReadingsQuery>;

export const ApiHourly = Type.Object({
  hour: Timestamp,
  readings: Type.Integer(),
  temperatureMin: NullableNumber,
  temperatureAvg: NullableNumber,
  temperatureMax: NullableNumber,
  pressureMin: NullableNumber,
  pressureAvg: NullableNumber,
  pressureMax: NullableNumber,
  doorOpenRatio: NullableNumber,
  compressorDuty: NullableNumber,
});
export type ApiHourly = Static<typeof ApiHourly>;

/** Hourly rollups: at most 31 days per request (744 buckets), newest last. */
export const HourlyQuery = Type.Object(
  { from: Type.Optional(Timestamp), to: Type.Optional(Timestamp) },
  { additionalProperties: false },
);
export type HourlyQuery = Static<typeof HourlyQuery>;

/**
 * One rollup bucket of one unit, identical from both storage variants. Ratios and minutes are
 * shares of the bucket's readings (sample-based: a unit reporting evenly is what they assume);
 * "out of band" is a temperature more than 2 °C from the setpoint the reading carried.
 */
export const ApiRollup = Type.Object({
  equipmentId: Uuid,
  bucket: Timestamp,
  readings: Type.Integer({ minimum: 0 }),
  temperatureMin: NullableNumber,
  temperatureAvg: NullableNumber,
  temperatureMax: NullableNumber,
  pressureMin: NullableNumber,
  pressureAvg: NullableNumber,
  pressureMax: NullableNumber,
  compressorDuty: NullableNumber,
  doorOpenRatio: NullableNumber,
  doorOpenReadings: Type.Integer({ minimum: 0 }),
  doorOpenMinutes: NullableNumber,
  outOfBandReadings: Type.Integer({ minimum: 0 }),
  /** Null when no reading of the bucket carried a setpoint. */
  outOfBandMinutes: NullableNumber,
});
export type ApiRollup = Static<typeof ApiRollup>;

export const RollupPage = Type.Object({
  bucket: RollupBucket,
  from: Timestamp,
  to: Timestamp,
  items: Type.Array(ApiRollup),
});
export type RollupPage = Static<typeof RollupPage>;

export const SiteRollupQuery = Type.Object(
  {
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    bucket: Type.Optional(RollupBucket),
  },
  { additionalProperties: false },
);
export type SiteRollupQuery = Static<typeof SiteRollupQuery>;
