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

/**
 * `decodeTelemetry` shared by the consumers of one node. The equipment, PostgreSQL and
 * ClickHouse consumers each receive every TELEMETRY message, and the verdict on a stored
 * message is fixed (subject, bytes and stream timestamp decide it, see above), so the first
 * consumer to see a message decodes it and the others reuse the result: one JSON parse and
 * validation per reading instead of three. Keyed by stream and sequence, checked against the
 * stream timestamp and subject (a stream deleted and recreated reuses sequences).
 *
 * Each consumer takes its own `reader()`; a result is dropped once every reader has taken it,
 * so the cache holds only what lies between the slowest consumer and the fastest, and nothing
 * once they have caught up. A reader further behind than `capacity` decodes afresh and leaves
 * the newer result in its slot. Results no reader on this node will take (another node's
 * partitions, a sink message another node's consumer was served) stay until their slot is
 * reused. Results are shared: consumers must not modify them.
 */
export class TelemetryDecoder {
  readonly #ns: string;
  readonly #config: TelemetryDecodeConfig;
  /** Slot `seq % length`: O(1), where a Map evicting its oldest entry degrades as it churns. */
  readonly #slots: Array<DecodedEntry | undefined>;
  #readers = 0;

  constructor(ns: string, config: TelemetryDecodeConfig, capacity = 16_384) {
    this.#ns = ns;
    this.#config = config;
    this.#slots = new Array<DecodedEntry | undefined>(capacity);
  }

  /** The decode function of one more consumer of every TELEMETRY message on this node. */
  reader(): (msg: JsMsg) => Decoded<StoredReading> {
    this.#readers++;
    return (msg) => this.#decode(msg);
  }

  #decode(msg: JsMsg): Decoded<StoredReading> {
    const { stream, streamSequence: seq, timestampNanos } = msg.info;
    const slot = seq % this.#slots.length;
    const hit = this.#slots[slot];
    if (
      hit &&
      hit.seq === seq &&
      hit.storedNanos === timestampNanos &&
      hit.stream === stream &&
      hit.subject === msg.subject
    ) {
      if (++hit.reads >= this.#readers) this.#slots[slot] = undefined;
      return hit.decoded;
    }
    const decoded = decodeTelemetry(msg, this.#ns, this.#config);
    // A reader further behind than the cache holds must not evict a newer message's result in
    // favour of one the others have passed: it would wait for them in vain.
    if (this.#readers > 1 && !(hit && hit.seq > seq))
      this.#slots[slot] = {
        seq,
        stream,
        subject: msg.subject,
        storedNanos: timestampNanos,
        decoded,
        reads: 1,
      };
    return decoded;
  }

  /** Results held now (for tests and health). */
  get held(): number {
    let n = 0;
    for (const e of this.#slots) if (e) n++;
    return n;
  }
}

interface DecodedEntry {
  seq: number;
  stream: string;
  subject: string;
  storedNanos: number;
  decoded: Decoded<StoredReading>;
  /** Readers that took it so far. */
  reads: number;
}
