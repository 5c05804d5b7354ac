import { Type, type Static } from '@sinclair/typebox';
import { ApiAlert } from './api-alerts.ts';
import { ApiReading } from './api-readings.ts';
import { RulePhase, Severity } from './events.ts';
import { NullableNumber, NullableTimestamp, NullableUuid, Uuid } from './http.ts';

/** HTTP contract of a unit's live state (`GET /v1/equipment/{id}/state`). */

export const ActorStatus = Type.Union(
  [Type.Literal('live'), Type.Literal('idle'), Type.Literal('unavailable')],
  {
    description:
      'live: the owning node holds the actor in memory (phases below are current); idle: the owner ' +
      'has not needed it since it took the partition (no reading since), phases are "unknown"; ' +
      'unavailable: no node serves the partition right now (moving, or no actor node running).',
  },
);
export type ActorStatus = Static<typeof ActorStatus>;

export const ApiRuleState = Type.Object({
  ruleKey: Type.String(),
  /** The rule that applies to the unit for this key (most specific scope); null if none does any more. */
  ruleId: NullableUuid,
  kind: Type.Union([Type.String(), Type.Null()]),
  phase: Type.Union([RulePhase, Type.Literal('unknown')]),
  severity: Type.Union([Severity, Type.Null()]),
  since: NullableTimestamp,
  alertId: NullableUuid,
  acknowledged: Type.Boolean(),
  /** When a time-driven rule (no_data, door_open, defrost_overrun) is evaluated next. */
  timerAt: NullableTimestamp,
  evaluable: Type.Boolean(),
});
export type ApiRuleState = Static<typeof ApiRuleState>;

export const ApiEquipmentState = Type.Object({
  equipmentId: Uuid,
  siteId: Uuid,
  actor: Type.Object({
    status: ActorStatus,
    partition: Type.Integer({ minimum: 0 }),
    /** TELEMETRY stream sequence of the last reading the actor applied. */
    seq: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    /** The next server-time wake-up the actor asked for (its earliest timer). */
    wakeAt: NullableTimestamp,
  }),
  /** The newest stored reading (the storage sink may trail the actor by a moment). */
  lastReading: Type.Union([ApiReading, Type.Null()]),
  /** Device time of the last reading the actor applied. */
  lastReadingAt: NullableTimestamp,
  /** Carried state: the last door / heater / controller setpoint reported. */
  door: Type.Union([Type.Boolean(), Type.Null()]),
  heater: Type.Union([Type.Boolean(), Type.Null()]),
  setpoint: NullableNumber,
  rules: Type.Array(ApiRuleState),
  openAlerts: Type.Array(ApiAlert),
});
export type ApiEquipmentState = Static<typeof ApiEquipmentState>;
