import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReading, type ErrorCode } from '../../schemas/mod.ts';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const ids = { tenantId: 't1', equipmentId: 'e1' };
const bounds = { now: NOW, receivedAt: NOW - 1000, maxAgeMs: 7 * 86_400_000, maxSkewMs: 300_000 };
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

test('good readings normalise switches and time', () => {
  const good: Array<[unknown, Record<string, unknown>]> = [
    [{ temperature: -18.5 }, { ts: NOW - 1000, temperature: -18.5 }],
    [
      { ts: NOW - 5000, door: 1, heater: 0 },
      { ts: NOW - 5000, door: true, heater: false },
    ],
    [
      { ts: new Date(NOW - 60_000).toISOString(), door: 'open', fan: 'off' },
      { ts: NOW - 60_000, door: true, fan: false },
    ],
    [
      { compressor: true, setpoint: -18, metrics: { humidity: 40 } },
      { compressor: true, setpoint: -18, metrics: { humidity: 40 } },
    ],
    [
      { pressure: 150.2, door: 'closed' },
      { pressure: 150.2, door: false },
    ],
  ];
  for (const [input, expected] of good) {
    const r = parseReading(enc(input), ids, bounds);
    assert.ok(r.ok, JSON.stringify(input));
    assert.deepEqual(r.reading, { ts: NOW - 1000, ...ids, ...expected });
  }
});

test('bad readings are rejected with a stable code and a reason', () => {
  const bad: Array<[string | object, ErrorCode]> = [
    ['{"temperature": NaN}', 'BAD_JSON'],
    ['not json', 'BAD_JSON'],
    [{ temperature: '12' }, 'VALIDATION_FAILED'],
    [{ temperature: 1e9 }, 'VALUE_OUT_OF_RANGE'],
    [{ temperature: -500 }, 'VALUE_OUT_OF_RANGE'],
    [{ door: 'ajar' }, 'VALIDATION_FAILED'],
    [{ temp: 5 }, 'UNKNOWN_FIELD'],
    [{ metrics: { 'Bad Name': 1 } }, 'VALIDATION_FAILED'],
    [{ ts: 'yesterday' }, 'VALIDATION_FAILED'],
    [{ ts: NOW + 3_600_000 }, 'TIMESTAMP_OUT_OF_RANGE'],
    [{ ts: NOW - 30 * 86_400_000 }, 'TIMESTAMP_OUT_OF_RANGE'],
    [{ ts: -1 }, 'VALUE_OUT_OF_RANGE'],
    [[1, 2], 'VALIDATION_FAILED'],
    [{ temperature: 1, pad: 'x'.repeat(10_000) }, 'PAYLOAD_TOO_LARGE'],
  ];
  for (const [input, code] of bad) {
    const r = parseReading(enc(input), ids, bounds);
    assert.equal(r.ok, false, JSON.stringify(input).slice(0, 60));
    if (!r.ok) {
      assert.equal(r.code, code, JSON.stringify(input).slice(0, 60));
      assert.ok(r.reason.length > 0);
    }
  }
});

test('a reading of nothing is refused: {}, a bare time, empty metrics', () => {
  for (const input of [{}, { ts: NOW - 1000 }, { metrics: {} }]) {
    const r = parseReading(enc(input), ids, bounds);
    assert.deepEqual(r, {
      ok: false,
      code: 'VALIDATION_FAILED',
      reason:
        '/: a reading carries at least one of temperature, pressure, door, heater, compressor, fan, setpoint or a metric',
    });
  }
});
