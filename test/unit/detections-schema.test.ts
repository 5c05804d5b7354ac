import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDetections } from '../../schemas/mod.ts';

const NOW = Date.UTC(2026, 0, 1, 12);
const bounds = { now: NOW, maxAgeMs: 3600_000, maxSkewMs: 60_000 };
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const person = { box: [0.1, 0.2, 0.3, 0.8], score: 0.9 };

describe('detections message', () => {
  const good: Array<[string, unknown]> = [
    ['epoch ms, one person', { ts: NOW, detections: [person] }],
    [
      'ISO time, frame size, seq, descriptor',
      {
        ts: new Date(NOW).toISOString(),
        seq: 3,
        frame: { width: 640, height: 360 },
        detections: [{ ...person, cls: 0, appearance: [0.1, 0.2] }],
      },
    ],
    ['an empty frame (nobody there) is news too', { ts: NOW, detections: [] }],
  ];
  for (const [name, value] of good)
    test(`accepted: ${name}`, () => {
      const r = parseDetections(bytes(value), bounds);
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.equal(r.frame.ts, NOW);
    });

  const bad: Array<[string, unknown, string]> = [
    ['not JSON', '{"ts":', 'BAD_JSON'],
    ['no time', { detections: [] }, 'VALIDATION_FAILED'],
    [
      'box outside the frame',
      { ts: NOW, detections: [{ box: [0.1, 0.2, 1.2, 0.8], score: 0.9 }] },
      'VALUE_OUT_OF_RANGE',
    ],
    [
      'box with three numbers',
      { ts: NOW, detections: [{ box: [0.1, 0.2, 0.3], score: 0.9 }] },
      'VALIDATION_FAILED',
    ],
    [
      'inverted corners',
      { ts: NOW, detections: [{ box: [0.5, 0.2, 0.3, 0.8], score: 0.9 }] },
      'VALIDATION_FAILED',
    ],
    ['score above 1', { ts: NOW, detections: [{ ...person, score: 3 }] }, 'VALUE_OUT_OF_RANGE'],
    ['NaN smuggled as a string', { ts: NOW, detections: [{ ...person, score: 'NaN' }] }, 'VALIDATION_FAILED'],
    ['unknown field', { ts: NOW, detections: [], image: 'base64…' }, 'UNKNOWN_FIELD'],
    ['from the future', { ts: NOW + 3600_000, detections: [] }, 'TIMESTAMP_OUT_OF_RANGE'],
    ['too old', { ts: NOW - 7200_000, detections: [] }, 'TIMESTAMP_OUT_OF_RANGE'],
    // No Date holds it: the reason must still be written, not thrown (found by the fuzz run).
    ['1e20 ms, beyond any date', { ts: 1e20, detections: [] }, 'TIMESTAMP_OUT_OF_RANGE'],
    ['oversized', { ts: NOW, detections: [], pad: 'x'.repeat(70_000) }, 'PAYLOAD_TOO_LARGE'],
  ];
  for (const [name, value, code] of bad)
    test(`refused: ${name} → ${code}`, () => {
      const r = parseDetections(bytes(value), bounds);
      assert.equal(r.ok ? 'ok' : r.code, code);
    });

  test('other classes are dropped: the camera actor counts people', () => {
    const r = parseDetections(bytes({ ts: NOW, detections: [person, { ...person, cls: 2 }] }), bounds);
    assert.ok(r.ok);
    assert.equal(r.frame.detections.length, 1);
  });
});
