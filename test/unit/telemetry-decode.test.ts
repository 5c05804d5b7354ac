import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorCode } from '../../schemas/mod.ts';
import {
  decodeTelemetry,
  natsPartition,
  telemetryPartition,
  TelemetryDecoder,
  type JsMsg,
  type TelemetryDecodeConfig,
} from '../../streams/mod.ts';

const TENANT = '0b8a3c52-6f0e-4c2e-9a51-2f4d6c1e7a10';
const UNIT = 'c4e1f9a2-3b7d-4e58-8f60-91d2a7b3c4e5';
const config: TelemetryDecodeConfig = {
  VIGIL_MAX_READING_AGE_S: 7 * 86_400,
  VIGIL_MAX_CLOCK_SKEW_S: 300,
  VIGIL_PARTITIONS: 8,
};
const P = telemetryPartition(TENANT, UNIT, 8);
const MIN = 60_000;

/** A stored TELEMETRY message: what the stream holds, including when the server stored it. */
function stored(subject: string, body: unknown, storedAtMs: number): JsMsg {
  return {
    subject,
    data: new TextEncoder().encode(JSON.stringify(body)),
    timestampNanos: BigInt(storedAtMs) * 1_000_000n,
  } as unknown as JsMsg;
}

const code = (d: ReturnType<typeof decodeTelemetry>): ErrorCode | 'ok' => (d.ok ? 'ok' : d.code);

describe('telemetry decode: time bounds use the stream timestamp', () => {
  test('a device clock 6 min fast is refused, however late the consumer reads it', () => {
    // Stored 2 min ago: by the consumer's clock the reading is only 4 min ahead.
    const receivedAt = Date.now() - 2 * MIN;
    const msg = stored(
      `tele.${TENANT}.${UNIT}.${P}`,
      { ts: receivedAt + 6 * MIN, temperature: 4 },
      receivedAt,
    );
    assert.equal(code(decodeTelemetry(msg, '', config)), 'TIMESTAMP_OUT_OF_RANGE');
  });

  test('a reading just inside the age limit when stored is accepted by a consumer an hour behind', () => {
    const receivedAt = Date.now() - 60 * MIN;
    const ts = receivedAt - 7 * 86_400_000 + 30 * MIN;
    const d = decodeTelemetry(
      stored(`tele.${TENANT}.${UNIT}.${P}`, { ts, temperature: 4 }, receivedAt),
      '',
      config,
    );
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.equal(d.value.reading.ts, ts);
    assert.equal(d.value.receivedAt, receivedAt);
  });

  test('a reading without device time gets the stream timestamp', () => {
    const receivedAt = Date.now() - 3 * 86_400_000;
    const d = decodeTelemetry(
      stored(`tele.${TENANT}.${UNIT}.${P}`, { temperature: 4 }, receivedAt),
      '',
      config,
    );
    assert.ok(d.ok);
    assert.equal(d.value.reading.ts, receivedAt);
  });
});

describe('telemetry decode: the partition token must be the server mapping’s', () => {
  const now = Date.now();
  const cases: Array<{ name: string; subject: string; want: ErrorCode | 'ok' }> = [
    { name: 'mapped partition', subject: `tele.${TENANT}.${UNIT}.${P}`, want: 'ok' },
    { name: 'mapped partition, namespaced', subject: `ns1.tele.${TENANT}.${UNIT}.${P}`, want: 'ok' },
    { name: 'another partition', subject: `tele.${TENANT}.${UNIT}.${(P + 1) % 8}`, want: 'BAD_SUBJECT' },
    { name: 'beyond the partition count', subject: `tele.${TENANT}.${UNIT}.99`, want: 'BAD_SUBJECT' },
    { name: 'no partition token', subject: `tele.${TENANT}.${UNIT}`, want: 'BAD_SUBJECT' },
    { name: 'not a number', subject: `tele.${TENANT}.${UNIT}.x`, want: 'BAD_SUBJECT' },
    {
      // The server hashes the tokens as published: upper case maps elsewhere than lower case.
      name: 'upper-case ids, their own partition',
      subject: `tele.${TENANT.toUpperCase()}.${UNIT.toUpperCase()}.${telemetryPartition(TENANT.toUpperCase(), UNIT.toUpperCase(), 8)}`,
      want: 'ok',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ns = c.subject.startsWith('ns1.') ? 'ns1' : '';
      const d = decodeTelemetry(stored(c.subject, { ts: now, temperature: 1 }, now), ns, config);
      assert.equal(code(d), c.want, d.ok ? '' : d.reason);
      if (d.ok) assert.equal(d.value.reading.equipmentId, UNIT);
    });
  }

  test('the reason names the expected partition', () => {
    const d = decodeTelemetry(stored(`tele.${TENANT}.${UNIT}.99`, { ts: now }, now), '', config);
    assert.ok(!d.ok);
    assert.match(d.reason, new RegExp(`partition token 99 is not ${P}`));
  });
});

describe('natsPartition', () => {
  test('is FNV-1a 32 over the concatenated tokens (reference vectors)', () => {
    const whole = 2 ** 32;
    assert.equal(natsPartition([''], whole), 0x811c9dc5);
    assert.equal(natsPartition(['a'], whole), 0xe40c292c);
    assert.equal(natsPartition(['foo', 'bar'], whole), 0xbf9cf968);
    // Beyond ASCII the hash runs over the UTF-8 bytes, as the server's does.
    assert.equal(natsPartition(['x', 'é€'], whole), 0xfe59d229);
  });

  test('stays within 0..n-1', () => {
    for (let i = 0; i < 200; i++) {
      const p = telemetryPartition(`t${i}`, `e${i * 7}`, 8);
      assert.ok(Number.isInteger(p) && p >= 0 && p < 8, String(p));
    }
  });
});

describe('telemetry decode: absurd timestamps', () => {
  test('ts beyond the range of a date (1e20, MAX_SAFE_INTEGER) is TIMESTAMP_OUT_OF_RANGE, never INTERNAL', () => {
    const receivedAt = Date.now();
    for (const ts of [1e20, Number.MAX_SAFE_INTEGER, 8.64e15 + 1]) {
      const d = decodeTelemetry(
        stored(`tele.${TENANT}.${UNIT}.${P}`, { ts, temperature: 4 }, receivedAt),
        '',
        config,
      );
      assert.equal(code(d), 'TIMESTAMP_OUT_OF_RANGE', String(ts));
      assert.equal(d.ok ? '' : d.reason, `/ts: ${ts} ms since the epoch is in the future`);
    }
  });
});

describe('telemetry decode: one parse per message for every consumer of a node', () => {
  /** A stored message as a consumer receives it (delivery info included). */
  function delivered(seq: number, storedAtMs: number): JsMsg {
    const msg = stored(`tele.${TENANT}.${UNIT}.${P}`, { ts: storedAtMs, temperature: 4 }, storedAtMs);
    return Object.assign(msg, {
      info: { stream: 'TELEMETRY', streamSequence: seq, timestampNanos: storedAtMs * 1_000_000 },
    });
  }

  test('readers share one result; it is dropped once every reader took it', () => {
    const decoder = new TelemetryDecoder('', config, 8);
    const [actors, pg, ch] = [decoder.reader(), decoder.reader(), decoder.reader()];
    const now = Date.now();
    const first = actors(delivered(1, now));
    assert.equal(decoder.held, 1);
    assert.equal(pg(delivered(1, now)), first, 'the second reader gets the same result');
    assert.equal(decoder.held, 1);
    assert.equal(ch(delivered(1, now)), first);
    assert.equal(decoder.held, 0, 'every reader took it: nothing held');
    // Taken again (a redelivery): decoded afresh, an equal verdict.
    assert.deepEqual(pg(delivered(1, now)), first);
  });

  test('a message reusing a slot or a sequence (a recreated stream) is decoded again', () => {
    const decoder = new TelemetryDecoder('', config, 8);
    const [a, b] = [decoder.reader(), decoder.reader()];
    const now = Date.now();
    const one = a(delivered(1, now));
    const nine = a(delivered(9, now)); // slot 1 of 8 again
    assert.notEqual(b(delivered(1, now)), one);
    // The reader that fell behind did not put its old message back over the newer one.
    assert.equal(b(delivered(9, now)), nine);
    const again = a(delivered(2, now));
    assert.notEqual(b(delivered(2, now - 1000)), again, 'same sequence, another stored time');
  });

  test('a sole reader holds nothing', () => {
    const decoder = new TelemetryDecoder('', config, 8);
    const only = decoder.reader();
    assert.equal(only(delivered(1, Date.now())).ok, true);
    assert.equal(decoder.held, 0);
  });
});
