import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JsMsg, PubAck } from '@nats-io/jetstream';
import { assertValid, eventKind, VigilError, VigilEvent, type ErrorCode } from '../schemas/mod.ts';
import { publishControl } from './control.ts';
import type { Names } from './subjects.ts';
import { isToken } from './subjects.ts';

const encoder = new TextEncoder();

/** DLQ headers: what was rejected, where it came from and why. */
export const DLQ_HEADERS = {
  code: 'Vigil-Error-Code',
  reason: 'Vigil-Reason',
  subject: 'Vigil-Subject',
  stream: 'Vigil-Stream',
  seq: 'Vigil-Seq',
  consumer: 'Vigil-Consumer',
} as const;

function requireToken(kind: string, value: string): void {
  if (!isToken(value)) throw new VigilError('BAD_SUBJECT', `${kind} '${value}' is not a valid subject token`);
}

/**
 * Publish one reading to `[ns.]tele.<tenant>.<equipment>` (the server appends the partition).
 * `msgId` becomes `Nats-Msg-Id`, so a retried publish within the duplicate window is stored
 * once. Without one, a reading object that carries its own `ts` gets `<tenant>.<equipment>.<ts>`:
 * one unit cannot take two readings at the same instant. Raw bytes without an id are stored as
 * they come.
 */
export async function publishReading(
  js: JetStreamClient,
  names: Names,
  tenantId: string,
  equipmentId: string,
  payload: Uint8Array | Record<string, unknown>,
  msgId?: string,
): Promise<PubAck> {
  requireToken('tenant id', tenantId);
  requireToken('equipment id', equipmentId);
  const bytes = payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload));
  let id = msgId;
  if (id === undefined && !(payload instanceof Uint8Array)) {
    const ts = payload['ts'];
    if (typeof ts === 'string' || typeof ts === 'number') id = `${tenantId}.${equipmentId}.${ts}`;
  }
  return js.publish(
    names.telemetry.publish(tenantId, equipmentId),
    bytes,
    id === undefined ? {} : { msgID: id },
  );
}

/** Subject of an event: `[ns.]evt.<tenant>.<site>.<kind>.<equipment or camera>`. */
export function eventSubject(names: Names, event: VigilEvent): string {
  // A person's action on an alert names the unit or the camera its alert is about.
  const about: { equipmentId?: string; cameraId?: string } = event.data;
  const id = about.cameraId ?? about.equipmentId;
  if (id === undefined)
    throw new VigilError('BAD_SUBJECT', `${event.type} names neither a unit nor a camera`);
  return names.events.subject(event.tenantId, event.siteId, eventKind(event), id);
}

/**
 * Publish an actor event. The id is deterministic (derived from its cause), so a replaying
 * actor republishes the same `Nats-Msg-Id` and the stream keeps one copy.
 */
export async function publishEvent(js: JetStreamClient, names: Names, event: VigilEvent): Promise<PubAck> {
  // Our own output: a failure here is a bug in an actor, caught before it reaches the stream.
  assertValid(VigilEvent, event);
  return js.publish(eventSubject(names, event), encoder.encode(JSON.stringify(event)), { msgID: event.id });
}

export interface Rejection {
  code: ErrorCode;
  reason: string;
}

/** Header values are single lines of bounded length. */
function headerValue(s: string): string {
  const line = s.replace(/[\r\n]+/g, ' ');
  return line.length > 1000 ? `${line.slice(0, 997)}...` : line;
}

/**
 * Dead-letter a stream message: original bytes, reason in headers. The id is
 * `dlq:<stream>:<seq>`, so several consumers rejecting the same message leave one entry.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  names: Names,
  source: string,
  msg: JsMsg,
  consumer: string,
  rejection: Rejection,
): Promise<PubAck> {
  const h = headers();
  h.set(DLQ_HEADERS.code, rejection.code);
  h.set(DLQ_HEADERS.reason, headerValue(rejection.reason));
  h.set(DLQ_HEADERS.subject, msg.subject);
  h.set(DLQ_HEADERS.stream, msg.info.stream);
  h.set(DLQ_HEADERS.seq, String(msg.seq));
  h.set(DLQ_HEADERS.consumer, consumer);
  return js.publish(names.dlq.subject(source), msg.data, {
    msgID: `dlq:${msg.info.stream}:${msg.seq}`,
    headers: h,
  });
}

/** `publishControl` of a `rulesChanged` message (`tenantId` null: a global rule). */
export function publishRulesChanged(
  nc: NatsConnection,
  names: Names,
  tenantId: string | null,
): Promise<void> {
  return publishControl(nc, names, { topic: 'rulesChanged', body: { tenantId } });
}
