import { Type, type Static } from '@sinclair/typebox';
import { AlertEvent } from './events.ts';
import { AlertRuleKey, AlertRuleKind } from './rules.ts';
import { Uuid } from './http.ts';

/**
 * `POST /v1/alert-rules/backtest`: a draft rule over stored telemetry of chosen units, through
 * the live decider. Bounded: at most BACKTEST_LIMITS.units units and
 * BACKTEST_LIMITS.unitDays unit-days (units × days of range) per request.
 */

export const BACKTEST_LIMITS = { units: 50, unitDays: 93, readings: 500_000 } as const;

export const BacktestBody = Type.Object(
  {
    rule: Type.Object(
      {
        key: Type.Optional(AlertRuleKey),
        kind: AlertRuleKind,
        /** Validated per kind, as when the rule is created. */
        params: Type.Object({}, { additionalProperties: true }),
        latched: Type.Optional(Type.Boolean()),
      },
      {
        additionalProperties: false,
        examples: [
          {
            key: 'high_temp',
            kind: 'threshold',
            params: {
              metric: 'temperature',
              op: '>',
              levels: [{ severity: 'warning', value: 5 }],
              for_s: 300,
              clear: { value: 4, for_s: 60 },
            },
          },
        ],
      },
    ),
    equipmentIds: Type.Array(Uuid, { minItems: 1, maxItems: BACKTEST_LIMITS.units, uniqueItems: true }),
    from: Type.String({ format: 'date-time', examples: ['2025-01-01T00:00:00.000Z'] }),
    to: Type.String({ format: 'date-time', examples: ['2025-01-08T00:00:00.000Z'] }),
  },
  { additionalProperties: false },
);
export type BacktestBody = Static<typeof BacktestBody>;

export const BacktestResult = Type.Object({
  alerts: Type.Array(AlertEvent, { description: 'the alert events the rule would have published, by time' }),
  units: Type.Array(
    Type.Object({
      equipmentId: Uuid,
      readings: Type.Integer(),
      opened: Type.Integer({ description: 'alerts opened in the range' }),
      unevaluable: Type.Boolean({ description: 'the rule is relative to a setpoint the unit never had' }),
    }),
  ),
  timings: Type.Object({ loadMs: Type.Number(), evaluateMs: Type.Number() }),
});
export type BacktestResult = Static<typeof BacktestResult>;
