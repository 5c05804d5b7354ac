import type { JsMsg } from '@nats-io/jetstream';
import { parseReading, type Config, type Reading } from '../schemas/mod.ts';
import type { Decoded } from './consumer.ts';
import { parseTelemetrySubject } from './subjects.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StoredReading {
  reading: Reading;
  /** When the stream stored the message (epoch ms): identical on every redelivery. */
  receivedAt: number;
  partition: number | null;
}

export type ReadingLimits = Pick<Config, 'VIGIL_MAX_READING_AGE_S' | 'VIGIL_MAX_CLOCK_SKEW_S'>;

/** Stream timestamp in epoch ms. */
export function storedAt(msg: JsMsg): number {
  return Number(msg.timestampNanos / 1_000_000n);
}

/**
 * Decode a TELEMETRY message: subject tokens must be ids, the body a valid reading. A reading
 * without device time gets the stream timestamp, so every consumer and every redelivery
 * resolves the same `ts`.
 */
export function decodeTelemetry(
  msg: JsMsg,
  ns: string,
  limits: ReadingLimits,
  now = Date.now(),
): Decoded<StoredReading> {
  const parsed = parseTelemetrySubject(msg.subject, ns);
  if (!parsed || !UUID.test(parsed.tenantId) || !UUID.test(parsed.equipmentId)) {
    return {
      ok: false,
      code: 'BAD_SUBJECT',
      reason: `subject ${msg.subject} is not <ns.>tele.<tenant uuid>.<equipment uuid>.<p>`,
    };
  }
  const receivedAt = storedAt(msg);
  const r = parseReading(
    msg.data,
    { tenantId: parsed.tenantId.toLowerCase(), equipmentId: parsed.equipmentId.toLowerCase() },
    {
      now,
      receivedAt,
      maxAgeMs: limits.VIGIL_MAX_READING_AGE_S * 1000,
      maxSkewMs: limits.VIGIL_MAX_CLOCK_SKEW_S * 1000,
    },
  );
  if (!r.ok) return { ok: false, code: r.code, reason: r.reason };
  return { ok: true, value: { reading: r.reading, receivedAt, partition: parsed.partition } };
}
