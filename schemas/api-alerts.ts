import { Type, type Static } from '@sinclair/typebox';
import { Severity } from './events.ts';
import {
  NullableNumber,
  NullableString,
  NullableTimestamp,
  NullableUuid,
  PageQuery,
  Timestamp,
  Uuid,
} from './http.ts';
import { AlertRuleKey, AlertRuleKind } from './rules.ts';

/** HTTP contract of alerts (list, ack, resolve, snooze, timeline) and alert rules (CRUD). */

export const AlertStatus = Type.Union([
  Type.Literal('active'),
  Type.Literal('acknowledged'),
  Type.Literal('resolved'),
]);
export type AlertStatus = Static<typeof AlertStatus>;

export const ApiAlert = Type.Object({
  id: Uuid,
  siteId: Uuid,
  equipmentId: Type.Union([Uuid, Type.Null()], {
    description: 'the unit the alert is about (null: a camera)',
  }),
  cameraId: Type.Optional(
    Type.Union([Uuid, Type.Null()], {
      description: 'the camera the alert is about (camera_offline, crowding)',
    }),
  ),
  zoneId: Type.Optional(
    Type.Union([Uuid, Type.Null()], { description: "the camera's zone the alert is about (crowding)" }),
  ),
  ruleId: NullableUuid,
  ruleKey: Type.String(),
  severity: Severity,
  status: AlertStatus,
  message: Type.String(),
  value: NullableNumber,
  threshold: NullableNumber,
  latched: Type.Boolean(),
  suppressed: Type.Boolean(),
  openedAt: Timestamp,
  updatedAt: Timestamp,
  clearedAt: NullableTimestamp,
  acknowledgedAt: NullableTimestamp,
  acknowledgedBy: NullableUuid,
  resolvedAt: NullableTimestamp,
  resolvedBy: NullableUuid,
  snoozedUntil: NullableTimestamp,
  note: NullableString,
});
export type ApiAlert = Static<typeof ApiAlert>;

export const AlertListQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(
      Type.Union([AlertStatus, Type.Literal('open')], { description: 'open = active or acknowledged' }),
    ),
    siteId: Type.Optional(Uuid),
    equipmentId: Type.Optional(Uuid),
    severity: Type.Optional(Severity),
    ruleKey: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'opened at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'opened before' })),
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuery>;

const Note = Type.String({ minLength: 1, maxLength: 2000, examples: ['compressor relay replaced'] });

export const AlertAckBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });
export type AlertAckBody = Static<typeof AlertAckBody>;

export const AlertResolveBody = Type.Object({ note: Note }, { additionalProperties: false });
export type AlertResolveBody = Static<typeof AlertResolveBody>;

export const AlertSnoozeBody = Type.Object(
  { minutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60, examples: [60] }), note: Type.Optional(Note) },
  { additionalProperties: false },
);
export type AlertSnoozeBody = Static<typeof AlertSnoozeBody>;

export const ApiAlertTimelineEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  action: Type.String(),
  actorId: NullableUuid,
  note: NullableString,
  data: Type.Unknown(),
});
export type ApiAlertTimelineEntry = Static<typeof ApiAlertTimelineEntry>;

export const AlertTimelineQuery = Type.Object({ ...PageQuery.properties }, { additionalProperties: false });
export type AlertTimelineQuery = Static<typeof AlertTimelineQuery>;

// ---------------------------------------------------------------- rules

export const RuleScope = Type.Union([
  Type.Literal('global'),
  Type.Literal('tenant'),
  Type.Literal('site'),
  Type.Literal('equipment'),
]);
export type RuleScope = Static<typeof RuleScope>;

const RuleKey = Type.String({ ...AlertRuleKey, examples: ['high_temp'] });
const RuleName = Type.String({ maxLength: 200 });
/** Kind-specific: checked against the kind's schema in schemas/rules.ts before it is stored. */
const RuleParams = Type.Object(
  {},
  {
    additionalProperties: true,
    maxProperties: 50,
    description:
      'by kind: see ThresholdParams, NoDataParams, DoorOpenParams, DefrostOverrunParams, RateParams',
    examples: [
      {
        metric: 'temperature',
        op: '>',
        levels: [
          { severity: 'critical', value: -10 },
          { severity: 'warning', value: -15 },
        ],
        for_s: 300,
        clear: { delta: 1, for_s: 120 },
        exclude_defrost: { recovery_s: 900 },
      },
    ],
  },
);

export const ApiAlertRule = Type.Object({
  id: Uuid,
  scope: RuleScope,
  siteId: NullableUuid,
  equipmentId: NullableUuid,
  key: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  params: Type.Unknown(),
  latched: Type.Boolean(),
  enabled: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiAlertRule = Static<typeof ApiAlertRule>;

export const AlertRuleCreateBody = Type.Object(
  {
    key: RuleKey,
    kind: AlertRuleKind,
    name: Type.Optional(RuleName),
    params: RuleParams,
    latched: Type.Optional(Type.Boolean()),
    enabled: Type.Optional(Type.Boolean()),
    siteId: Type.Optional(Uuid),
    equipmentId: Type.Optional(Uuid),
    global: Type.Optional(
      Type.Boolean({
        description: 'platform admins only: a global rule, for every tenant (no siteId/equipmentId)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AlertRuleCreateBody = Static<typeof AlertRuleCreateBody>;

/** Key, kind and scope are the rule's identity; change them by creating another rule. */
export const AlertRuleUpdateBody = Type.Object(
  {
    name: Type.Optional(RuleName),
    params: Type.Optional(RuleParams),
    latched: Type.Optional(Type.Boolean()),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AlertRuleUpdateBody = Static<typeof AlertRuleUpdateBody>;

export const AlertRuleListQuery = Type.Object(
  {
    ...PageQuery.properties,
    scope: Type.Optional(RuleScope),
    siteId: Type.Optional(Uuid),
    equipmentId: Type.Optional(Uuid),
    key: Type.Optional(RuleKey),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type AlertRuleListQuery = Static<typeof AlertRuleListQuery>;
