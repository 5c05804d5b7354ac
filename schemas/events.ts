import { Type, type Static } from '@sinclair/typebox';

export const Severity = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);
export type Severity = Static<typeof Severity>;

/**
 * What actors emit on `evt.<tenant>.<site>.<kind>.<id>`. The envelope is the same for every
 * kind; `data` depends on `type`. `id` is deterministic (derived from the cause), so a
 * replayed actor republishes the same id and JetStream's duplicate window drops it.
 */
export const AlertEventData = Type.Object(
  {
    alertId: Type.String({ format: 'uuid' }),
    equipmentId: Type.String({ format: 'uuid' }),
    ruleId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    ruleKey: Type.String(),
    severity: Severity,
    previousSeverity: Type.Optional(Severity),
    metric: Type.String(),
    value: Type.Union([Type.Number(), Type.Null()]),
    threshold: Type.Union([Type.Number(), Type.Null()]),
    openedAt: Type.Integer({ description: 'epoch ms of the reading that opened the alert' }),
    latched: Type.Boolean(),
    suppressed: Type.Boolean(),
    message: Type.String(),
  },
  { additionalProperties: false },
);
export type AlertEventData = Static<typeof AlertEventData>;

export const AlertEventType = Type.Union([
  Type.Literal('alert.opened'),
  Type.Literal('alert.updated'),
  Type.Literal('alert.cleared'),
  Type.Literal('alert.resolved'),
]);
export type AlertEventType = Static<typeof AlertEventType>;

export const AlertEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: AlertEventType,
    tenantId: Type.String({ format: 'uuid' }),
    siteId: Type.String({ format: 'uuid' }),
    ts: Type.Integer({ description: 'epoch ms: event time (the reading that caused it)' }),
    data: AlertEventData,
  },
  { additionalProperties: false, $id: 'AlertEvent' },
);
export type AlertEvent = Static<typeof AlertEvent>;

/**
 * A person acted on an alert (`POST /v1/alerts/{id}/ack`, `/resolve`, `/snooze`):
 * `alert.acknowledged`, `alert.closed` when the alert ended by that action (resolved by hand, or a
 * latched alert whose condition had cleared, released by its acknowledgement), and
 * `alert.snoozed` (reminders held until `snoozedUntil`; the alert stays as it was). About a unit's alert
 * (`equipmentId`) or a camera's (`cameraId`, perhaps `zoneId`), on the same subject as that
 * alert's other events. The gateway writes the action to the alert's row and timeline first
 * and publishes this after the commit, as the notice other dashboards and the notifier act on:
 * its `id` is the timeline entry's event id, so a retried publish is stored once and the
 * alerts sink has nothing left to write.
 */
export const AlertActionEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Union([
      Type.Literal('alert.acknowledged'),
      Type.Literal('alert.closed'),
      Type.Literal('alert.snoozed'),
    ]),
    tenantId: Type.String({ format: 'uuid' }),
    siteId: Type.String({ format: 'uuid' }),
    ts: Type.Integer({ description: 'epoch ms, server time of the action' }),
    data: Type.Object(
      {
        alertId: Type.String({ format: 'uuid' }),
        equipmentId: Type.Optional(Type.String({ format: 'uuid' })),
        cameraId: Type.Optional(Type.String({ format: 'uuid' })),
        zoneId: Type.Optional(Type.String({ format: 'uuid' })),
        ruleKey: Type.String(),
        severity: Severity,
        message: Type.String(),
        openedAt: Type.Integer({ description: 'epoch ms the alert opened' }),
        suppressed: Type.Boolean(),
        status: Type.Union([Type.Literal('active'), Type.Literal('acknowledged'), Type.Literal('resolved')], {
          description: "the alert's status after the action (a snooze leaves it active or acknowledged)",
        }),
        snoozedUntil: Type.Optional(
          Type.Integer({ description: 'alert.snoozed: epoch ms until which reminders are held' }),
        ),
        by: Type.String({ format: 'uuid', description: 'the user who acted' }),
        note: Type.Union([Type.String(), Type.Null()]),
        timelineId: Type.Integer({
          description:
            "the entry of the alert's timeline that records the action (GET /v1/alerts/{id}/timeline)",
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'AlertActionEvent' },
);
export type AlertActionEvent = Static<typeof AlertActionEvent>;

/**
 * A rule that applies to a unit but cannot be evaluated there (a rule relative to the setpoint
 * on a unit that has none): `rule.unevaluable` when that starts, `rule.evaluable` when it ends.
 * Never silently inert.
 */
export const RuleStatusEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Union([Type.Literal('rule.unevaluable'), Type.Literal('rule.evaluable')]),
    tenantId: Type.String({ format: 'uuid' }),
    siteId: Type.String({ format: 'uuid' }),
    ts: Type.Integer({ description: 'epoch ms of the reading that showed it' }),
    data: Type.Object(
      {
        equipmentId: Type.String({ format: 'uuid' }),
        ruleId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
        ruleKey: Type.String(),
        /** `no_setpoint`: relative to a setpoint the unit lacks; `no_watched_zone`: a cross-signal rule on a unit watching no camera zone. */
        reason: Type.Union([Type.Literal('no_setpoint'), Type.Literal('no_watched_zone')]),
        message: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'RuleStatusEvent' },
);
export type RuleStatusEvent = Static<typeof RuleStatusEvent>;

export const RulePhase = Type.Union([
  Type.Literal('normal'),
  Type.Literal('pending'),
  Type.Literal('firing'),
  Type.Literal('recovering'),
  Type.Literal('latched'),
]);
export type RulePhase = Static<typeof RulePhase>;

/** One rule key of a unit as its actor holds it: the lifecycle phase and the alert it has open. */
export const RulePhaseView = Type.Object(
  {
    ruleKey: Type.String(),
    phase: RulePhase,
    severity: Type.Union([Severity, Type.Null()]),
    /** Epoch ms the phase started (pending, recovering, latched with a clearing condition). */
    since: Type.Union([Type.Integer(), Type.Null()]),
    alertId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    acknowledged: Type.Boolean(),
    /** Server time (epoch ms) a time-driven rule is evaluated next, if it has a timer. */
    timerAt: Type.Union([Type.Integer(), Type.Null()]),
    /** False for a rule that applies but cannot be evaluated (relative, and no setpoint). */
    evaluable: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type RulePhaseView = Static<typeof RulePhaseView>;

/**
 * `equipment.state`: a unit's alert-relevant state changed (a rule's phase, severity, alert or
 * acknowledgement; a rule became (un)evaluable). Not sent per reading: the owning node sends at
 * most one per unit per coalescing interval, always the latest. Rules in `normal` with no
 * timer are left out. A notice, not a record: it goes out on NATS core
 * (`live.<tenant>.<site>.equipment.<id>`, not stored) and reaches SSE clients without an `id`
 * — a reconnecting dashboard reads `GET /v1/equipment/{id}/state` instead of replaying them.
 */
export const EquipmentStateEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Literal('equipment.state'),
    tenantId: Type.String({ format: 'uuid' }),
    siteId: Type.String({ format: 'uuid' }),
    ts: Type.Integer({ description: 'epoch ms: server time the state was taken' }),
    data: Type.Object(
      {
        equipmentId: Type.String({ format: 'uuid' }),
        lastReadingAt: Type.Union([Type.Integer(), Type.Null()]),
        door: Type.Union([Type.Boolean(), Type.Null()]),
        heater: Type.Union([Type.Boolean(), Type.Null()]),
        setpoint: Type.Union([Type.Number(), Type.Null()]),
        rules: Type.Array(RulePhaseView),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'EquipmentStateEvent' },
);
export type EquipmentStateEvent = Static<typeof EquipmentStateEvent>;

const Uuid = Type.String({ format: 'uuid' });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** The alert a camera event opens or resolves (its row in `alerts`, with the same id). */
const alertRef = (description: string) =>
  Type.Object(
    {
      alertId: Uuid,
      openedAt: Type.Integer({ description: 'epoch ms the alert opened' }),
    },
    { additionalProperties: false, description },
  );

/**
 * What a camera actor saw (SPEC §6), on `evt.<tenant>.<site>.people.<camera>`. `ts` is the
 * frame time the event happened at (a crossing is interpolated between two frames; an entry is
 * dated to its first frame in the zone). Track ids are per camera.
 * - `people.entry` / `people.exit`: crossing a line zone (into / out of the store when the
 *   line is an `entrance`: footfall);
 * - `people.zone_entry` / `people.zone_exit` (with `dwellSeconds`): an area or product zone;
 * - `people.product_interaction`: dwell at a product zone reached its threshold;
 * - `people.occupancy` (`count`): a zone's occupancy changed;
 * - `people.crowding_started` / `people.crowding_ended` (`count`, `since`): the zone's crowding
 *   rule fired (occupancy ≥ K for T s) or cleared; each names its `crowding` alert and severity.
 */
export const PeopleEventType = Type.Union([
  Type.Literal('people.entry'),
  Type.Literal('people.exit'),
  Type.Literal('people.zone_entry'),
  Type.Literal('people.zone_exit'),
  Type.Literal('people.product_interaction'),
  Type.Literal('people.occupancy'),
  Type.Literal('people.crowding_started'),
  Type.Literal('people.crowding_ended'),
]);
export type PeopleEventType = Static<typeof PeopleEventType>;

export const PeopleEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: PeopleEventType,
    tenantId: Uuid,
    siteId: Uuid,
    ts: Type.Integer({ description: 'epoch ms: frame time of the event' }),
    data: Type.Object(
      {
        cameraId: Uuid,
        zoneId: Uuid,
        entrance: Type.Boolean({ description: 'the zone is an entrance line: entry/exit are footfall' }),
        trackId: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        dwellSeconds: NullableNumber,
        count: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        since: Type.Union([Type.Integer(), Type.Null()]),
        severity: Type.Optional(Severity),
        alert: Type.Optional(
          alertRef('crowding_started: the crowding alert it opens; crowding_ended: the one it resolves'),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'PeopleEvent' },
);
export type PeopleEvent = Static<typeof PeopleEvent>;

/**
 * A camera's own life, on `evt.<tenant>.<site>.camera.<camera>`: `camera.online` when its
 * video starts streaming, `camera.offline` (with the reason) when it stops, `camera.track_ended`
 * with a person's track summary when the tracker lets a track go.
 */
export const CameraEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Union([
      Type.Literal('camera.online'),
      Type.Literal('camera.offline'),
      Type.Literal('camera.track_ended'),
    ]),
    tenantId: Uuid,
    siteId: Uuid,
    ts: Type.Integer({ description: 'epoch ms' }),
    data: Type.Object(
      {
        cameraId: Uuid,
        reason: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
        alert: Type.Optional(
          alertRef('camera.offline: the camera_offline alert it opens; camera.online: the one it resolves'),
        ),
        track: Type.Optional(
          Type.Object(
            {
              trackId: Type.Integer({ minimum: 0 }),
              firstSeen: Type.Integer(),
              lastSeen: Type.Integer(),
              frames: Type.Integer({ minimum: 0 }),
              reidentified: Type.Integer({ minimum: 0 }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'CameraEvent' },
);
export type CameraEvent = Static<typeof CameraEvent>;

/** Every event kind Vigil emits. */
export const VigilEvent = Type.Union([
  AlertEvent,
  AlertActionEvent,
  RuleStatusEvent,
  PeopleEvent,
  CameraEvent,
]);
export type VigilEvent = Static<typeof VigilEvent>;

export const EVENT_KINDS = ['alert', 'rule', 'people', 'camera'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** An event's kind is the prefix of its type: `alert.opened` → `alert`. */
export function eventKind(e: VigilEvent): EventKind {
  return e.type.slice(0, e.type.indexOf('.')) as EventKind;
}
