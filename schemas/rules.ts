import { Type, type Static, type TInteger, type TSchema } from '@sinclair/typebox';
import { VigilError, type ErrorCode } from './errors.ts';
import { Severity } from './events.ts';
import { compile, describeErrors } from './validate.ts';

/**
 * Alert rules as stored in `alert_rules`: scope columns, `key`, `kind`, `latched`, `enabled`
 * and kind-specific `params` (jsonb). The params schemas here are the only gate before the
 * database: the API validates with `checkRuleParams`, actors re-check rows with
 * `parseAlertRule` (a row written by an older version must not crash an actor).
 */

export const RULE_KINDS = [
  'threshold',
  'no_data',
  'door_open',
  'defrost_overrun',
  'rate',
  'unattended_door',
] as const;
export const AlertRuleKind = Type.Union(RULE_KINDS.map((k) => Type.Literal(k)));
export type AlertRuleKind = (typeof RULE_KINDS)[number];

/**
 * Rule kinds the equipment decider evaluates; the API refuses the others (a rule the engine
 * silently skipped would look like a working rule). The one list both sides read: the gateway
 * without loading the actors.
 */
export const DECIDER_KINDS: readonly AlertRuleKind[] = RULE_KINDS;

export const AlertRuleKey = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'e.g. high_temp' });

/** `temperature`, `pressure`, `setpoint`, or the name of an extra metric in `reading.metrics`. */
export const RuleMetric = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' });

const Seconds = (max: number, min = 0): TInteger => Type.Integer({ minimum: min, maximum: max });
const DAY_S = 86_400;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const LocalTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, local' });

/**
 * When a rule applies, in the site's time zone (e.g. opening hours). Outside it the rule is
 * off: nothing pends, and an alert it left open resolves. `to` at or before `from` runs past
 * midnight into the next day.
 */
export const RuleSchedule = Type.Object(
  {
    windows: Type.Array(
      Type.Object(
        {
          days: Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d))), {
            minItems: 1,
            maxItems: 7,
            uniqueItems: true,
          }),
          from: LocalTime,
          to: LocalTime,
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 14 },
    ),
  },
  { additionalProperties: false, $id: 'RuleSchedule' },
);
export type RuleSchedule = Static<typeof RuleSchedule>;

export const ThresholdOp = Type.Union([
  Type.Literal('>'),
  Type.Literal('>='),
  Type.Literal('<'),
  Type.Literal('<='),
]);
export type ThresholdOp = Static<typeof ThresholdOp>;

const Levels = <T extends TSchema>(level: T) =>
  Type.Array(level, { minItems: 1, maxItems: 3, description: 'one per severity, highest severity first' });

export const ThresholdParams = Type.Object(
  {
    metric: RuleMetric,
    op: ThresholdOp,
    levels: Levels(
      Type.Object({ severity: Severity, value: Type.Number() }, { additionalProperties: false }),
    ),
    /** Values (levels and clear.value) are offsets from the unit's setpoint. */
    relative_to_setpoint: Type.Optional(Type.Boolean()),
    /** The condition must hold this long before the alert fires. */
    for_s: Seconds(DAY_S),
    clear: Type.Object(
      {
        /** Absolute clear threshold (hysteresis); relative to the setpoint when the rule is. */
        value: Type.Optional(Type.Number()),
        /** Or: clear this far on the safe side of the lowest level. */
        delta: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        /** The clear condition must hold this long before the alert resolves. */
        for_s: Seconds(DAY_S),
      },
      { additionalProperties: false },
    ),
    /** Ignore readings while the heater is on (defrost) and for `recovery_s` after. */
    exclude_defrost: Type.Optional(
      Type.Object({ recovery_s: Seconds(4 * 3600) }, { additionalProperties: false }),
    ),
    /** Ignore readings while the door is open and for `grace_s` after it closes. */
    exclude_door: Type.Optional(Type.Object({ grace_s: Seconds(3600) }, { additionalProperties: false })),
    schedule: Type.Optional(RuleSchedule),
  },
  { additionalProperties: false, $id: 'ThresholdParams' },
);
export type ThresholdParams = Static<typeof ThresholdParams>;

const DurationLevel = Type.Object(
  { severity: Severity, after_s: Seconds(30 * DAY_S, 1) },
  { additionalProperties: false },
);

export const NoDataParams = Type.Object(
  {
    /** Silence of one metric; absent = of any reading. */
    metric: Type.Optional(RuleMetric),
    levels: Levels(DurationLevel),
    schedule: Type.Optional(RuleSchedule),
  },
  { additionalProperties: false, $id: 'NoDataParams' },
);
export type NoDataParams = Static<typeof NoDataParams>;

/** The condition must stay off this long before the alert resolves (against flapping). */
const ClearFor = Type.Optional(Seconds(DAY_S));

export const DoorOpenParams = Type.Object(
  { levels: Levels(DurationLevel), clear_for_s: ClearFor, schedule: Type.Optional(RuleSchedule) },
  { additionalProperties: false, $id: 'DoorOpenParams' },
);
export type DoorOpenParams = Static<typeof DoorOpenParams>;

/**
 * A person seen this close before a door opened (or after it closed) attends the episode: they
 * stepped away a moment before the door swung. One value for the live rule and the labels.
 */
export const ATTENDED_SLACK_MS = 5_000;

/**
 * The cross-signal rule: the door open continuously `after_s` with nobody seen in the unit's
 * watched camera zone since it opened (an attended episode — someone restocking, a shopper
 * taking a product — never fires). Needs the unit's `watchZoneId`.
 */
export const UnattendedDoorParams = Type.Object(
  { levels: Levels(DurationLevel), clear_for_s: ClearFor, schedule: Type.Optional(RuleSchedule) },
  { additionalProperties: false, $id: 'UnattendedDoorParams' },
);
export type UnattendedDoorParams = Static<typeof UnattendedDoorParams>;

export const DefrostOverrunParams = Type.Object(
  { levels: Levels(DurationLevel), clear_for_s: ClearFor, schedule: Type.Optional(RuleSchedule) },
  { additionalProperties: false, $id: 'DefrostOverrunParams' },
);
export type DefrostOverrunParams = Static<typeof DefrostOverrunParams>;

export const RateParams = Type.Object(
  {
    metric: RuleMetric,
    direction: Type.Union([Type.Literal('rising'), Type.Literal('falling')]),
    /** Rate measured over this window (least squares slope of the readings in it). */
    window_s: Seconds(DAY_S, 60),
    levels: Levels(
      Type.Object(
        {
          severity: Severity,
          per_min: Type.Number({ exclusiveMinimum: 0, description: 'units per minute' }),
        },
        { additionalProperties: false },
      ),
    ),
    for_s: Seconds(DAY_S),
    /** Clear when the rate is below this (hysteresis); default the lowest level's rate. */
    clear_per_min: Type.Optional(Type.Number({ minimum: 0 })),
    clear_for_s: ClearFor,
    exclude_defrost: Type.Optional(
      Type.Object({ recovery_s: Seconds(4 * 3600) }, { additionalProperties: false }),
    ),
    schedule: Type.Optional(RuleSchedule),
  },
  { additionalProperties: false, $id: 'RateParams' },
);
export type RateParams = Static<typeof RateParams>;

export const RULE_PARAMS = {
  threshold: ThresholdParams,
  no_data: NoDataParams,
  door_open: DoorOpenParams,
  defrost_overrun: DefrostOverrunParams,
  rate: RateParams,
  unattended_door: UnattendedDoorParams,
} as const;

export interface RuleParamsByKind {
  threshold: ThresholdParams;
  no_data: NoDataParams;
  door_open: DoorOpenParams;
  defrost_overrun: DefrostOverrunParams;
  rate: RateParams;
  unattended_door: UnattendedDoorParams;
}

interface RuleCommon {
  id: string | null;
  tenantId: string | null;
  siteId: string | null;
  equipmentId: string | null;
  key: string;
  name: string;
  latched: boolean;
  enabled: boolean;
}

/** A validated rule. `id` is null for drafts (backtests). */
export type AlertRule = {
  [K in AlertRuleKind]: RuleCommon & { kind: K; params: RuleParamsByKind[K] };
}[AlertRuleKind];
export type AlertRuleOf<K extends AlertRuleKind> = Extract<AlertRule, { kind: K }>;

/** A row of `alert_rules` as node-postgres returns it. */
export interface AlertRuleRow {
  id: string;
  tenant_id: string | null;
  site_id: string | null;
  equipment_id: string | null;
  key: string;
  kind: string;
  name: string;
  params: unknown;
  latched: boolean;
  enabled: boolean;
}

export type RuleCheck<K extends AlertRuleKind> =
  { ok: true; kind: K; params: RuleParamsByKind[K] } | { ok: false; code: ErrorCode; reason: string };

const SEVERITY_RANK = { critical: 3, warning: 2, info: 1 } as const;

function isKind(kind: string): kind is AlertRuleKind {
  return (RULE_KINDS as readonly string[]).includes(kind);
}

function isRising(op: ThresholdOp): boolean {
  return op === '>' || op === '>=';
}

/** Severities strictly decreasing: at most one level per severity, highest first. */
function severityOrder(levels: ReadonlyArray<{ severity: keyof typeof SEVERITY_RANK }>): string | null {
  for (let i = 1; i < levels.length; i++) {
    if (SEVERITY_RANK[levels[i]!.severity] >= SEVERITY_RANK[levels[i - 1]!.severity]) {
      return `/levels/${i}: severities must be distinct and ordered highest first`;
    }
  }
  return null;
}

function strictlyDecreasing(values: number[], path: string, what: string): string | null {
  for (let i = 1; i < values.length; i++) {
    if (values[i]! >= values[i - 1]!) return `/levels/${i}/${path}: ${what}`;
  }
  return null;
}

/** Rules the schema cannot say: ordering of levels and where the clear threshold may sit. */
function semanticProblem<K extends AlertRuleKind>(kind: K, params: RuleParamsByKind[K]): string | null {
  switch (kind) {
    case 'threshold': {
      const p = params as ThresholdParams;
      const order = severityOrder(p.levels);
      if (order) return order;
      const rising = isRising(p.op);
      // The most severe level is the most extreme value: highest for >, lowest for <.
      const values = p.levels.map((l) => (rising ? l.value : -l.value));
      const mono = strictlyDecreasing(
        values,
        'value',
        `values must get ${rising ? 'lower' : 'higher'} as severity drops`,
      );
      if (mono) return mono;
      if (p.clear.value !== undefined && p.clear.delta !== undefined)
        return '/clear: give value or delta, not both';
      const lowest = p.levels[p.levels.length - 1]!.value;
      if (p.clear.value !== undefined && (rising ? p.clear.value > lowest : p.clear.value < lowest)) {
        return `/clear/value: must be on the safe side of the lowest level (${rising ? '<=' : '>='} ${lowest})`;
      }
      if (p.relative_to_setpoint && p.metric === 'setpoint')
        return '/metric: setpoint cannot be relative to itself';
      return null;
    }
    case 'no_data':
    case 'door_open':
    case 'defrost_overrun':
    case 'unattended_door': {
      const p = params as NoDataParams | DoorOpenParams | DefrostOverrunParams | UnattendedDoorParams;
      return (
        severityOrder(p.levels) ??
        strictlyDecreasing(
          p.levels.map((l) => l.after_s),
          'after_s',
          'durations must get shorter as severity drops',
        )
      );
    }
    case 'rate': {
      const p = params as RateParams;
      const order =
        severityOrder(p.levels) ??
        strictlyDecreasing(
          p.levels.map((l) => l.per_min),
          'per_min',
          'rates must get smaller as severity drops',
        );
      if (order) return order;
      const lowest = p.levels[p.levels.length - 1]!.per_min;
      if (p.clear_per_min !== undefined && p.clear_per_min > lowest)
        return `/clear_per_min: must be at most the lowest level's rate (${lowest})`;
      return null;
    }
    default: {
      const unreachable: never = kind;
      return `unknown kind ${String(unreachable)}`;
    }
  }
}

/** Validate `params` for `kind`: schema, then ordering rules. Never throws. */
export function checkRuleParams<K extends AlertRuleKind>(kind: K, params: unknown): RuleCheck<K>;
export function checkRuleParams(kind: string, params: unknown): RuleCheck<AlertRuleKind>;
export function checkRuleParams(kind: string, params: unknown): RuleCheck<AlertRuleKind> {
  if (!isKind(kind))
    return { ok: false, code: 'VALIDATION_FAILED', reason: `/kind: unknown rule kind '${kind}'` };
  const check = compile(RULE_PARAMS[kind]);
  if (!check(params)) {
    const errors = (check as unknown as { errors: Parameters<typeof describeErrors>[0] }).errors;
    const unknown = errors?.some((e) => e.keyword === 'additionalProperties');
    return {
      ok: false,
      code: unknown ? 'UNKNOWN_FIELD' : 'VALIDATION_FAILED',
      reason: describeErrors(errors)
        .split('; ')
        .map((r) =>
          r.startsWith('/:') ? `/params${r.slice(1)}` : r.startsWith('/') ? `/params${r}` : `/params: ${r}`,
        )
        .join('; '),
    };
  }
  const problem = semanticProblem(kind, params as RuleParamsByKind[typeof kind]);
  if (problem) return { ok: false, code: 'VALIDATION_FAILED', reason: `/params${problem}` };
  return { ok: true, kind, params: params as RuleParamsByKind[typeof kind] };
}

/** Throwing variant for the API: a 400 with the reason. */
export function assertRuleParams<K extends AlertRuleKind>(kind: K, params: unknown): RuleParamsByKind[K] {
  const r = checkRuleParams(kind, params);
  if (!r.ok) throw new VigilError(r.code, r.reason);
  return r.params;
}

/**
 * The API's gate on rule kinds: every kind has a params schema, but the alert engine may not
 * evaluate every kind yet, and a rule it silently skipped would look like a working rule.
 * `evaluated` is DECIDER_KINDS, the list the decider evaluates, so a kind opens up here the
 * moment the decider learns it.
 */
export function assertRuleKindEvaluated(kind: string, evaluated: readonly string[]): void {
  if (evaluated.includes(kind)) return;
  throw new VigilError(
    'UNSUPPORTED_RULE_KIND',
    `/kind: the alert engine does not evaluate '${kind}' rules yet; supported kinds: ${evaluated.join(', ')}`,
    { details: { kind, supportedKinds: [...evaluated] } },
  );
}

/** Turn a stored row into a typed rule, or say why it cannot be used. */
export function parseAlertRule(
  row: AlertRuleRow,
): { ok: true; rule: AlertRule } | { ok: false; code: ErrorCode; reason: string } {
  const checked = checkRuleParams(row.kind, row.params);
  if (!checked.ok) return checked;
  const rule = {
    id: row.id,
    tenantId: row.tenant_id,
    siteId: row.site_id,
    equipmentId: row.equipment_id,
    key: row.key,
    name: row.name,
    latched: row.latched,
    enabled: row.enabled,
    kind: checked.kind,
    params: checked.params,
  } as AlertRule;
  return { ok: true, rule };
}
