import type { JsMsg } from '@nats-io/jetstream';
import { parseReading, type Config, type Reading } from '../schemas/mod.ts';
import type { Decoded } from './consumer.ts';
import { telemetryPartition } from './partitions.ts';
import { parseTelemetrySubject } from './subjects.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StoredReading {
  reading: Reading;
  /** When the stream stored the message (epoch ms): identical on every redelivery. */
  receivedAt: number;
  partition: number | null;
}

/** What decoding needs of the configuration: the device-time bounds and the partition count. */
export type TelemetryDecodeConfig = Pick<
  Config,
  'VIGIL_MAX_READING_AGE_S' | 'VIGIL_MAX_CLOCK_SKEW_S' | 'VIGIL_PARTITIONS'
>;

/** Stream timestamp in epoch ms. */
export function storedAt(msg: JsMsg): number {
  return Number(msg.timestampNanos / 1_000_000n);
}

/**
 * Decode a TELEMETRY message: subject tokens must be ids, the partition token the one the
 * server mapping computes for them, the body a valid reading. Time bounds are checked against
 * the stream timestamp, not this consumer's clock: the server's clock when it stored the
 * message is the server time the reading arrived at, and using it makes every consumer, every
 * redelivery and every replay reach the same verdict. A reading without device time gets the
 * stream timestamp too.
 */
export function decodeTelemetry(
  msg: JsMsg,
  ns: string,
  config: TelemetryDecodeConfig,
): Decoded<StoredReading> {
  const parsed = parseTelemetrySubject(msg.subject, ns);
  if (!parsed || !UUID.test(parsed.tenantId) || !UUID.test(parsed.equipmentId)) {
    return {
      ok: false,
      code: 'BAD_SUBJECT',
      reason: `subject ${msg.subject} is not <ns.>tele.<tenant uuid>.<equipment uuid>.<p>`,
    };
  }
  // The server mapping hashes the tokens as published, so compare before normalising case.
  const expected = telemetryPartition(parsed.tenantId, parsed.equipmentId, config.VIGIL_PARTITIONS);
  if (parsed.partition !== expected) {
    return {
      ok: false,
      code: 'BAD_SUBJECT',
      reason:
        `subject ${msg.subject}: partition token ${parsed.partition ?? '(none)'} is not ${expected}, ` +
        `the server mapping's partition of this unit over ${config.VIGIL_PARTITIONS} partitions ` +
        `(publish to <ns.>tele.<tenant>.<equipment>; VIGIL_PARTITIONS must match the server mapping)`,
    };
  }
  const receivedAt = storedAt(msg);
  const r = parseReading(
    msg.data,
    { tenantId: parsed.tenantId.toLowerCase(), equipmentId: parsed.equipmentId.toLowerCase() },
    {
      now: receivedAt,
      receivedAt,
      maxAgeMs: config.VIGIL_MAX_READING_AGE_S * 1000,
      maxSkewMs: config.VIGIL_MAX_CLOCK_SKEW_S * 1000,
    },
  );
  if (!r.ok) return { ok: false, code: r.code, reason: r.reason };
  return { ok: true, value: { reading: r.reading, receivedAt, partition: parsed.partition } };
}
