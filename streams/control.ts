import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  assertValid,
  ActorStateReply,
  ControlMessage,
  VigilError,
  type ActorStateRequest,
  type ControlBody,
  type ControlTopic,
  type Logger,
} from '../schemas/mod.ts';
import type { Names } from './subjects.ts';

/**
 * The control plane: one publish function, one subscribe function, one schema
 * (`schemas/control.ts`).
 *
 * Semantics of `publishControl`: at most once, not stored (NATS core). It resolves once the
 * server has the message (flushed), and rejects with DEPENDENCY_UNAVAILABLE when NATS cannot
 * take it — the caller decides whether that matters (a committed change whose notice is lost is
 * not fatal: every receiver also catches up from the source of truth, PostgreSQL, on its own
 * schedule). A message nobody listens to is simply dropped.
 */
export async function publishControl(
  nc: NatsConnection,
  names: Names,
  message: ControlMessage,
): Promise<void> {
  // Our own output: a malformed one is a bug here, not something to send.
  assertValid(ControlMessage, message);
  try {
    nc.publish(names.ctl[message.topic], JSON.stringify(message.body));
    await nc.flush();
  } catch (err) {
    throw new VigilError('DEPENDENCY_UNAVAILABLE', `control message ${message.topic} not published`, {
      cause: err,
    });
  }
}

/**
 * Decode a received control message of `topic`: the validated body, or a VALIDATION_FAILED /
 * UNKNOWN_FIELD error with the reason.
 */
export function decodeControl<T extends ControlTopic>(
  topic: T,
  data: Uint8Array,
): { ok: true; body: ControlBody<T> } | { ok: false; error: VigilError } {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    const error = new VigilError('VALIDATION_FAILED', `control message ${topic} is not JSON`, { cause: err });
    return { ok: false, error };
  }
  try {
    const valid = assertValid(ControlMessage, { topic, body });
    return { ok: true, body: valid.body as ControlBody<T> };
  } catch (err) {
    return {
      ok: false,
      error: err instanceof VigilError ? err : new VigilError('VALIDATION_FAILED', String(err)),
    };
  }
}

/**
 * Subscribe to one control topic. Invalid messages are logged and dropped; the handler's
 * failures are logged (a control message is a hint to act now, never the only way a change
 * arrives).
 */
export function subscribeControl<T extends ControlTopic>(
  nc: NatsConnection,
  names: Names,
  topic: T,
  log: Logger,
  handler: (body: ControlBody<T>, msg: Msg) => Promise<void> | void,
): Subscription {
  return nc.subscribe(names.ctl[topic], {
    callback: (err, msg) => {
      if (err) return;
      const decoded = decodeControl(topic, msg.data);
      if (!decoded.ok) {
        log.warn({ err: decoded.error, topic }, 'ignoring malformed control message');
        return;
      }
      Promise.resolve()
        .then(() => handler(decoded.body, msg))
        .catch((e: unknown) => log.warn({ err: e, topic }, 'control message handling failed'));
    },
  });
}

/**
 * One actor's live state, asked of the node serving its partition (NATS request/reply on
 * `names.actors.stateQuery(kind, partition)`). For equipment the partition is
 * `telemetryPartition(tenantId, equipmentId, VIGIL_PARTITIONS)`. The caller authorises first: the
 * reply carries whatever the actor holds. Rejects with DEPENDENCY_UNAVAILABLE when no node
 * serves the partition (moving, or no actor node running) or none answers in time.
 */
export async function requestActorState(
  nc: NatsConnection,
  names: Names,
  kind: string,
  partition: number,
  key: string,
  timeoutMs = 2000,
): Promise<ActorStateReply> {
  const request: ActorStateRequest = { key };
  let reply: unknown;
  try {
    const msg = await nc.request(names.actors.stateQuery(kind, partition), JSON.stringify(request), {
      timeout: timeoutMs,
    });
    reply = msg.json();
  } catch (err) {
    throw new VigilError('DEPENDENCY_UNAVAILABLE', `no node answered for ${kind} partition ${partition}`, {
      cause: err,
    });
  }
  return assertValid(ActorStateReply, reply);
}
