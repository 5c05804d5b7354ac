import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_TELEMETRY_BATCH, VigilError, type ErrorCode, type ReadingBounds } from '../../schemas/mod.ts';
import { messageId, toWire, validateTelemetryBody } from '../../gateway/telemetry.routes.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const bounds: ReadingBounds = { now: NOW, receivedAt: NOW, maxAgeMs: 7 * 86_400_000, maxSkewMs: 300_000 };
const ids = { tenantId: 't1', equipmentId: 'e1' };

function codeOf(fn: () => unknown): { code: ErrorCode; details: unknown } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    return { code: err.code, details: err.details };
  }
  assert.fail('expected a rejection');
}

describe('validateTelemetryBody: accepted', () => {
  test('a single reading; missing ts becomes the receive time', () => {
    const [r, ...rest] = validateTelemetryBody({ temperature: -18.5, door: 'closed' }, ids, bounds);
    assert.equal(rest.length, 0);
    assert.deepEqual(r, { tenantId: 't1', equipmentId: 'e1', ts: NOW, temperature: -18.5, door: false });
  });
  test('a batch keeps order and resolves ISO and epoch timestamps', () => {
    const out = validateTelemetryBody(
      {
        readings: [
          { ts: '2026-03-01T11:59:00Z', temperature: 1 },
          { ts: NOW - 1000, compressor: 1 },
        ],
      },
      ids,
      bounds,
    );
    assert.deepEqual(
      out.map((r) => r.ts),
      [NOW - 60_000, NOW - 1000],
    );
    assert.equal(out[1]?.compressor, true);
  });
});

describe('validateTelemetryBody: rejected', () => {
  const cases: { name: string; body: unknown; code: ErrorCode }[] = [
    { name: 'not an object', body: [1, 2], code: 'VALIDATION_FAILED' },
    { name: 'null', body: null, code: 'VALIDATION_FAILED' },
    { name: 'unknown field', body: { temperature: 1, colour: 'red' }, code: 'UNKNOWN_FIELD' },
    { name: 'string temperature', body: { temperature: '12' }, code: 'VALIDATION_FAILED' },
    { name: 'temperature out of range', body: { temperature: 900 }, code: 'VALUE_OUT_OF_RANGE' },
    {
      name: 'ts in the future',
      body: { ts: NOW + 3_600_000, temperature: 1 },
      code: 'TIMESTAMP_OUT_OF_RANGE',
    },
    {
      name: 'ts too old',
      body: { ts: NOW - 30 * 86_400_000, temperature: 1 },
      code: 'TIMESTAMP_OUT_OF_RANGE',
    },
    { name: 'readings not an array', body: { readings: { temperature: 1 } }, code: 'VALIDATION_FAILED' },
    { name: 'empty batch', body: { readings: [] }, code: 'VALIDATION_FAILED' },
    {
      name: 'field beside readings',
      body: { readings: [{ temperature: 1 }], device: 'x' },
      code: 'UNKNOWN_FIELD',
    },
    {
      name: 'batch over the limit',
      body: { readings: Array.from({ length: MAX_TELEMETRY_BATCH + 1 }, () => ({ temperature: 1 })) },
      code: 'VALIDATION_FAILED',
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(codeOf(() => validateTelemetryBody(c.body, ids, bounds)).code, c.code));
  }

  test('a batch lists every bad index; one shared code is kept', () => {
    const { code, details } = codeOf(() =>
      validateTelemetryBody(
        { readings: [{ temperature: 1 }, { temperature: 999 }, { temperature: 2 }, { pressure: 1e9 }] },
        ids,
        bounds,
      ),
    );
    assert.equal(code, 'VALUE_OUT_OF_RANGE');
    assert.deepEqual(
      (details as { index: number; code: string }[]).map((d) => [d.index, d.code]),
      [
        [1, 'VALUE_OUT_OF_RANGE'],
        [3, 'VALUE_OUT_OF_RANGE'],
      ],
    );
  });

  test('mixed reasons in a batch: VALIDATION_FAILED with each code in details', () => {
    const { code, details } = codeOf(() =>
      validateTelemetryBody({ readings: [{ x: 1 }, { temperature: 999 }] }, ids, bounds),
    );
    assert.equal(code, 'VALIDATION_FAILED');
    assert.deepEqual(
      (details as { code: string }[]).map((d) => d.code),
      ['UNKNOWN_FIELD', 'VALUE_OUT_OF_RANGE'],
    );
  });
});

describe('wire format and message ids', () => {
  const reading = { tenantId: 't1', equipmentId: 'e1', ts: NOW, temperature: 3, door: true };
  test('toWire drops the ids the subject already carries', () => {
    assert.deepEqual(toWire(reading), { ts: NOW, temperature: 3, door: true });
  });
  test('same reading, same id; any difference, another id', () => {
    const json = JSON.stringify(toWire(reading));
    assert.equal(messageId('e1', json, undefined, 0), messageId('e1', json, undefined, 5));
    assert.notEqual(messageId('e1', json, undefined, 0), messageId('e2', json, undefined, 0));
    assert.notEqual(
      messageId('e1', json, undefined, 0),
      messageId('e1', JSON.stringify({ ...toWire(reading), ts: NOW + 1 }), undefined, 0),
    );
  });
  test('an Idempotency-Key names each reading of the request', () => {
    assert.equal(messageId('e1', '{}', 'k-1', 2), 'e1:k-1:2');
  });
});
