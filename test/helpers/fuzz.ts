/**
 * Generated hostile input for the fuzz runs (test/integration/fuzz.test.ts, bench/fuzz.bench.ts):
 * telemetry messages as raw bytes, each labelled good or bad by construction, and bad request
 * bodies derived from a route's JSON schema. Seeded: a failing run can be replayed exactly.
 *
 * Duplicate keys follow JSON.parse (the last one wins), as everywhere in Vigil: a message whose
 * last occurrence is valid is good, one whose last occurrence is invalid is bad.
 */
import type { JsonSchema } from './openapi.ts';

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const json = (v: unknown): Uint8Array => bytes(JSON.stringify(v));
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

export interface TelemetryCase {
  kind: string;
  good: boolean;
  bytes: Uint8Array;
}

function pick<T>(rng: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

/** Deeply nested arrays, `depth` levels, inside `metrics`. */
function nested(depth: number): Uint8Array {
  return bytes(`{"temperature":1,"metrics":${'['.repeat(depth)}${']'.repeat(depth)}}`);
}

/** A kind of bad message and how to make one; `now` is a frame time inside the accepted window. */
type Maker = [string, (rng: () => number, now: () => number) => Uint8Array];

/** Bytes no JSON message of any kind may be: refused by every decoder, whatever the time. */
const NOT_JSON: readonly Maker[] = [
  ['not an object: array', () => json([1, 2, 3])],
  ['not an object: string', () => json('reading')],
  ['not an object: number', () => json(42)],
  ['not an object: null', () => json(null)],
  ['invalid UTF-8 alone', () => Uint8Array.of(0xff, 0xfe, 0xfd, 0x80)],
  ['raw NUL byte', () => concat(bytes('{"ts":1'), Uint8Array.of(0), bytes('}'))],
  ['NaN literal', () => bytes('{"ts":NaN}')],
  ['truncated JSON', () => bytes('{"ts":1')],
  ['empty body', () => new Uint8Array(0)],
  [
    'deeply nested array',
    (rng) => bytes(`${'['.repeat(1000 + Math.floor(rng() * 3000))}${']'.repeat(1000)}`),
  ],
];

/** Bad telemetry bodies; each is refused whatever the time. */
const BAD: readonly Maker[] = [
  ...NOT_JSON,
  ['wrong type: temperature string', () => json({ temperature: '12' })],
  ['wrong type: temperature bool', () => json({ temperature: true })],
  ['wrong type: temperature object', () => json({ temperature: { v: 1 } })],
  ['wrong type: temperature null', () => json({ temperature: null })],
  ['wrong type: door number', () => json({ door: 5 })],
  ['wrong type: ts bool', () => json({ ts: true, temperature: 1 })],
  ['wrong type: ts word', () => json({ ts: 'yesterday', temperature: 1 })],
  ['wrong type: metrics array', () => json({ metrics: [1, 2] })],
  ['wrong type: metric string', () => json({ metrics: { humidity: 'high' } })],
  ['empty reading', () => json({})],
  ['unknown field', () => json({ temperature: 1, temp: 2 })],
  [
    'huge: padding over 8 KiB',
    (rng) => json({ temperature: 1, pad: 'x'.repeat(8200 + Math.floor(rng() * 4000)) }),
  ],
  [
    'huge: 40 metrics',
    () => json({ metrics: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`m${i}`, i])) }),
  ],
  ['deeply nested', (rng) => nested(1000 + Math.floor(rng() * 3000))],
  ['invalid UTF-8 in a value', () => concat(bytes('{"door":"op'), Uint8Array.of(0xff, 0xfe), bytes('en"}'))],
  ['invalid UTF-8 in a key', () => concat(bytes('{"temp'), Uint8Array.of(0xc3, 0x28), bytes('":1}'))],
  ['NUL in a value', () => json({ door: 'open\u0000' })],
  ['NUL in a metric name', () => json({ metrics: { 'a\u0000b': 1 } })],
  ['extreme: temperature 1e308', () => bytes('{"temperature":1e308}')],
  ['extreme: temperature 1e400 (Infinity)', () => bytes('{"temperature":1e400}')],
  ['extreme: metric 1e400 (Infinity)', () => bytes('{"metrics":{"x":1e400}}')],
  ['extreme: ts 1e20', () => bytes('{"ts":1e20,"temperature":1}')],
  ['extreme: ts -1', () => bytes('{"ts":-1,"temperature":1}')],
  ['extreme: ts fractional', () => bytes('{"ts":1.5,"temperature":1}')],
  ['extreme: ts 0 (1970)', () => bytes('{"ts":0,"temperature":1}')],
  ['duplicate keys, last one bad', () => bytes('{"temperature":1,"temperature":"warm"}')],
  ['prototype pollution', () => bytes('{"temperature":1,"__proto__":{"admin":true}}')],
];

const frame = (ts: number, box: unknown, extra: Record<string, unknown> = {}): Uint8Array =>
  json({ ts, detections: [{ box, score: 0.9, ...extra }] });

/** Bad detections bodies, given a frame time inside the accepted window. */
const BAD_DETECTIONS: readonly Maker[] = [
  ...NOT_JSON,
  ['missing detections', (_rng, now) => json({ ts: now() })],
  ['detections not an array', (_rng, now) => json({ ts: now(), detections: { box: [0, 0, 1, 1] } })],
  ['box out of the frame', (_rng, now) => frame(now(), [0.1, 0.1, 1.5, 0.9])],
  ['box corners swapped', (_rng, now) => frame(now(), [0.8, 0.8, 0.2, 0.2])],
  ['box of three numbers', (_rng, now) => frame(now(), [0.1, 0.1, 0.5])],
  ['box of strings', (_rng, now) => frame(now(), ['0.1', '0.1', '0.5', '0.5'])],
  ['score above 1', (_rng, now) => json({ ts: now(), detections: [{ box: [0, 0, 1, 1], score: 2 }] })],
  [
    'score NaN-ish string',
    (_rng, now) => json({ ts: now(), detections: [{ box: [0, 0, 1, 1], score: 'NaN' }] }),
  ],
  ['class negative', (_rng, now) => frame(now(), [0, 0, 1, 1], { cls: -1 })],
  [
    'appearance 1e400 (Infinity)',
    (_rng, now) => bytes(`{"ts":${now()},"detections":[{"box":[0,0,1,1],"score":0.5,"appearance":[1e400]}]}`),
  ],
  ['appearance of 65 values', (_rng, now) => frame(now(), [0, 0, 1, 1], { appearance: Array(65).fill(0.5) })],
  [
    '501 detections',
    (_rng, now) => json({ ts: now(), detections: Array(501).fill({ box: [0, 0, 0.1, 0.1], score: 0.5 }) }),
  ],
  ['over 64 KiB', (_rng, now) => json({ ts: now(), detections: [], pad: 'x'.repeat(70_000) })],
  ['unknown field', (_rng, now) => json({ ts: now(), detections: [], camera: 'mine' })],
  ['frame width 0', (_rng, now) => json({ ts: now(), frame: { width: 0, height: 480 }, detections: [] })],
  ['NUL in the time', () => json({ ts: '2026-01-01T00:00:00Z\u0000', detections: [] })],
  ['ts 1e20', () => bytes('{"ts":1e20,"detections":[]}')],
  ['ts -1', () => bytes('{"ts":-1,"detections":[]}')],
  ['ts 0 (1970)', () => bytes('{"ts":0,"detections":[]}')],
  ['ts an hour ahead', (_rng, now) => json({ ts: now() + 2 * 3_600_000, detections: [] })],
  ['ts word', () => json({ ts: 'now', detections: [] })],
  ['duplicate keys, last one bad', (_rng, now) => bytes(`{"ts":${now()},"detections":[],"detections":7}`)],
];

/**
 * `n` messages, about `badShare` of them bad (one of `bad`), the rest from `good`. Only the
 * messages that need a time draw one from `ts` (callers make them unique per unit or camera).
 */
function generate(
  rng: () => number,
  n: number,
  badShare: number,
  ts: () => number,
  bad: readonly Maker[],
  good: (rng: () => number, t: number, i: number) => TelemetryCase,
): TelemetryCase[] {
  const out: TelemetryCase[] = [];
  for (let i = 0; i < n; i++) {
    if (rng() < badShare) {
      const [kind, make] = pick(rng, bad);
      out.push({ kind, good: false, bytes: make(rng, ts) });
    } else out.push(good(rng, ts(), i));
  }
  return out;
}

/** `n` detections messages for one tenant's cameras, about `badShare` of them bad. */
export function detectionsCases(
  rng: () => number,
  n: number,
  badShare: number,
  ts: () => number,
): TelemetryCase[] {
  return generate(rng, n, badShare, ts, BAD_DETECTIONS, (rng, t, i) => {
    const r = rng();
    if (r < 0.1) return { kind: 'good: no one', good: true, bytes: json({ ts: t, detections: [] }) };
    if (r < 0.2)
      return {
        kind: 'good: duplicate keys, last one valid',
        good: true,
        bytes: bytes(`{"ts":${t},"detections":7,"detections":[]}`),
      };
    if (r < 0.3)
      return {
        kind: 'good: ISO time, a non-person class',
        good: true,
        bytes: json({
          ts: new Date(t).toISOString(),
          detections: [{ box: [0, 0, 0.5, 0.5], score: 0.4, cls: 2 }],
        }),
      };
    const detections = Array.from({ length: Math.floor(rng() * 8) }, () => {
      const x = rng() * 0.8;
      const y = rng() * 0.8;
      return {
        box: [x, y, x + 0.05 + rng() * 0.15, y + 0.1 + rng() * 0.1],
        score: Math.round(rng() * 1000) / 1000,
        appearance: Array.from({ length: 6 }, () => rng()),
      };
    });
    return {
      kind: 'good',
      good: true,
      bytes: json({ ts: t, seq: i, frame: { width: 640, height: 480 }, detections }),
    };
  });
}

/**
 * `n` telemetry messages, about `badShare` of them bad. Good ones carry `ts` from `ts()` (the
 * caller makes them unique per unit) and extreme-but-valid values now and then.
 */
export function telemetryCases(
  rng: () => number,
  n: number,
  badShare: number,
  ts: () => number,
): TelemetryCase[] {
  return generate(rng, n, badShare, ts, BAD, (rng, t) => {
    const r = rng();
    if (r < 0.05)
      return {
        kind: 'good: duplicate keys, last one valid',
        good: true,
        bytes: bytes(`{"ts":${t},"temperature":"warm","temperature":4}`),
      };
    if (r < 0.1)
      return {
        kind: 'good: extreme metric',
        good: true,
        bytes: json({ ts: t, metrics: { big: 1e308, tiny: -1e-308 } }),
      };
    if (r < 0.15)
      return {
        kind: 'good: ISO time, switches as words',
        good: true,
        bytes: json({ ts: new Date(t).toISOString(), door: 'open', fan: 'off' }),
      };
    return {
      kind: 'good',
      good: true,
      bytes: json({ ts: t, temperature: Math.round((rng() * 40 - 25) * 10) / 10, compressor: rng() < 0.5 }),
    };
  });
}

/** Values of the wrong kind for a field of `schema`, and values no field should take. */
function hostileValues(schema: JsonSchema | undefined, rng: () => number): unknown[] {
  const type = Array.isArray(schema?.type) ? schema?.type[0] : schema?.type;
  const wrong: unknown[] = [
    'x'.repeat(100_000),
    'a\u0000b',
    1e308,
    -1e308,
    1e20,
    -0,
    [],
    {},
    null,
    true,
    '\ud800',
    nestedValue(2000),
  ];
  if (type !== 'string') wrong.push('12', '');
  if (type !== 'number' && type !== 'integer') wrong.push(42, 1.5);
  if (type !== 'array') wrong.push([1, 'two', { three: 3 }]);
  return wrong.sort(() => rng() - 0.5);
}

function nestedValue(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

export interface BodyCase {
  kind: string;
  payload: string | Buffer;
}

/**
 * Bad bodies for a route whose body schema is `schema` and one valid body `valid`: each field
 * replaced by hostile values, required fields dropped, extra and duplicate keys, and raw bytes
 * that are not JSON at all.
 */
export function badBodies(schema: JsonSchema, valid: Record<string, unknown>, rng: () => number): BodyCase[] {
  const out: BodyCase[] = [];
  const props = schema.properties ?? {};
  for (const [name, prop] of Object.entries(props)) {
    for (const v of hostileValues(prop, rng).slice(0, 6))
      out.push({ kind: `${name}: hostile value`, payload: JSON.stringify({ ...valid, [name]: v }) });
  }
  for (const name of schema.required ?? []) {
    const { [name]: _dropped, ...rest } = valid;
    out.push({ kind: `${name}: missing`, payload: JSON.stringify(rest) });
  }
  const first = Object.keys(valid)[0];
  if (first) {
    const inner = JSON.stringify(valid).slice(1, -1);
    out.push({ kind: 'duplicate key', payload: `{${inner},${JSON.stringify(first)}:{"x":[1]}}` });
  }
  out.push(
    { kind: 'extra field', payload: JSON.stringify({ ...valid, zz_extra: 1 }) },
    { kind: 'array body', payload: JSON.stringify([valid]) },
    { kind: 'null body', payload: 'null' },
    { kind: 'truncated JSON', payload: JSON.stringify(valid).slice(0, -1) },
    {
      kind: 'invalid UTF-8',
      payload: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    },
    { kind: 'raw NUL', payload: Buffer.concat([Buffer.from('{"a":1'), Buffer.from([0]), Buffer.from('}')]) },
    { kind: 'deeply nested', payload: `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
    {
      kind: 'prototype pollution',
      payload: `{"__proto__":{"role":"platform_admin"},${JSON.stringify(valid).slice(1)}`,
    },
    { kind: 'constructor pollution', payload: `{"constructor":{"prototype":{"x":1}}}` },
  );
  return out;
}
