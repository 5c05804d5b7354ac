import { Type, type Static } from '@sinclair/typebox';

/**
 * Control messages: what one part of Vigil tells the others about a change made outside the
 * streams (a rule edited, an alert acknowledged). Each travels on its own subject
 * `[ns.]ctl.<…>` (`names().ctl[topic]`) over NATS core; the wire body is `body` as JSON, the
 * topic is the subject. Validated on receipt; an invalid one is logged and dropped.
 */
const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

const strict = { additionalProperties: false } as const;

const AlertRefBody = Type.Object(
  {
    tenantId: Id,
    equipmentId: Id,
    alertId: Type.String({ minLength: 1, maxLength: 200 }),
    ruleKey: Type.String({ minLength: 1, maxLength: 100 }),
  },
  strict,
);

export const ControlMessage = Type.Union([
  /** A tenant's rules (or, with `tenantId: null`, the global ones) changed. */
  Type.Object(
    {
      topic: Type.Literal('rulesChanged'),
      body: Type.Object({ tenantId: Type.Union([Id, Type.Null()]) }, strict),
    },
    strict,
  ),
  /** An alert was closed outside its actor (acknowledged latch, manual resolve). */
  Type.Object({ topic: Type.Literal('alertClosed'), body: AlertRefBody }, strict),
  /** An open alert was acknowledged: a latched one then resolves when its condition clears. */
  Type.Object({ topic: Type.Literal('alertAcknowledged'), body: AlertRefBody }, strict),
  /** A unit's maintenance records changed. */
  Type.Object(
    {
      topic: Type.Literal('maintenanceChanged'),
      body: Type.Object({ tenantId: Id, equipmentId: Id }, strict),
    },
    strict,
  ),
  /** A unit was changed, decommissioned or got a new API key. */
  Type.Object(
    {
      topic: Type.Literal('equipmentChanged'),
      body: Type.Object({ tenantId: Id, equipmentId: Id, action: Type.String({ maxLength: 64 }) }, strict),
    },
    strict,
  ),
  /**
   * A camera was created, changed, deleted or asked to restart: camera nodes start, reload or
   * stop its video pipeline and actors reload its zones (`zones` when only zones changed).
   */
  Type.Object(
    {
      topic: Type.Literal('cameraChanged'),
      body: Type.Object(
        {
          tenantId: Id,
          cameraId: Id,
          action: Type.Union([
            Type.Literal('created'),
            Type.Literal('updated'),
            Type.Literal('deleted'),
            Type.Literal('restart'),
            Type.Literal('zones'),
          ]),
        },
        strict,
      ),
    },
    strict,
  ),
  /** A tenant was suspended. */
  Type.Object(
    {
      topic: Type.Literal('tenantChanged'),
      body: Type.Object({ tenantId: Id, action: Type.String({ maxLength: 64 }) }, strict),
    },
    strict,
  ),
  /** Access tokens were revoked: one token (jti), a refresh family, a user's or a tenant's. */
  Type.Object(
    {
      topic: Type.Literal('authRevoked'),
      body: Type.Object(
        {
          scope: Type.Union([
            Type.Literal('jti'),
            Type.Literal('fam'),
            Type.Literal('user'),
            Type.Literal('tenant'),
          ]),
          id: Id,
        },
        strict,
      ),
    },
    strict,
  ),
]);
export type ControlMessage = Static<typeof ControlMessage>;
export type ControlTopic = ControlMessage['topic'];
export type ControlBody<T extends ControlTopic> = Extract<ControlMessage, { topic: T }>['body'];

/**
 * Query one actor's live state on the node that owns it (NATS request/reply on
 * `names().actorQuery(kind, partition)`). The reply is `ActorStateReply`.
 */
export const ActorStateRequest = Type.Object({ key: Id }, strict);
export type ActorStateRequest = Static<typeof ActorStateRequest>;

export const ActorStateReply = Type.Union([
  Type.Object(
    {
      found: Type.Literal(true),
      kind: Type.String(),
      key: Id,
      partition: Type.Integer({ minimum: 0 }),
      /** Stream sequence of the last message applied. */
      seq: Type.Integer({ minimum: 0 }),
      /** Server time (epoch ms) the actor wants to be woken at, if any. */
      wakeAt: Type.Union([Type.Number(), Type.Null()]),
      /** The kind's decider state, as its snapshot codec writes it. */
      state: Type.Unknown(),
    },
    strict,
  ),
  /** The owner does not hold the actor live (no message of it since the partition was taken). */
  Type.Object(
    { found: Type.Literal(false), kind: Type.String(), key: Id, partition: Type.Integer({ minimum: 0 }) },
    strict,
  ),
  Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }, strict) }, strict),
]);
export type ActorStateReply = Static<typeof ActorStateReply>;

/**
 * Ask the camera node running a camera's video how it goes (NATS request/reply on
 * `names().cameras.health(cameraId)`, answered only by that node). The reply is
 * `CameraHealth` (schemas/api-cameras.ts) or an error.
 */
export const CameraHealthRequest = Type.Object({ tenantId: Id }, strict);
export type CameraHealthRequest = Static<typeof CameraHealthRequest>;
