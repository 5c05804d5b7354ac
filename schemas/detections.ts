import { Type, type Static } from '@sinclair/typebox';
import type { ErrorCode } from './errors.ts';
import { describeTime } from './text.ts';
import { compile, describeErrors } from './validate.ts';

/** Normalised image coordinate. */
const Unit = Type.Number({ minimum: 0, maximum: 1 });

/**
 * One analysed frame of a camera, as Vigil's own detector publishes it on
 * `det.<tenant>.<camera>` — and as an edge device with its own detector may publish it too.
 * Boxes are corners normalised to the frame (0..1, y down); `cls` follows the model's classes
 * (person = 0). `appearance` is an optional short descriptor used to re-identify a person
 * after an occlusion (Vigil's detector sends six colour means); no image data is ever sent.
 */
export const DetectionsIn = Type.Object(
  {
    ts: Type.Union([
      Type.Integer({ minimum: 0, description: 'frame time, epoch milliseconds' }),
      Type.String({ format: 'date-time', description: 'frame time, ISO-8601' }),
    ]),
    seq: Type.Optional(Type.Integer({ minimum: 0, description: 'frame counter of the source' })),
    frame: Type.Optional(
      Type.Object(
        {
          width: Type.Integer({ minimum: 1, maximum: 16384 }),
          height: Type.Integer({ minimum: 1, maximum: 16384 }),
        },
        { additionalProperties: false },
      ),
    ),
    detections: Type.Array(
      Type.Object(
        {
          box: Type.Tuple([Unit, Unit, Unit, Unit], { description: '[x1, y1, x2, y2], normalised' }),
          score: Type.Number({ minimum: 0, maximum: 1 }),
          cls: Type.Optional(Type.Integer({ minimum: 0, maximum: 4095 })),
          appearance: Type.Optional(
            Type.Array(Type.Number({ minimum: -1e6, maximum: 1e6 }), { maxItems: 64 }),
          ),
        },
        { additionalProperties: false },
      ),
      { maxItems: 500 },
    ),
  },
  { additionalProperties: false, $id: 'DetectionsIn' },
);
export type DetectionsIn = Static<typeof DetectionsIn>;

export const MAX_DETECTIONS_BYTES = 64 * 1024;

export interface DetectedBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A validated frame: time resolved to epoch ms, boxes as corners, people only. */
export interface DetectionsFrame {
  ts: number;
  seq: number | null;
  detections: Array<{ box: DetectedBox; score: number; appearance: number[] }>;
}

export interface DetectionBounds {
  now: number;
  maxAgeMs: number;
  maxSkewMs: number;
}

export type DetectionsParse =
  { ok: true; frame: DetectionsFrame } | { ok: false; code: ErrorCode; reason: string };

const check = compile(DetectionsIn);

/**
 * Decode and validate a detections message. Every way a publisher can get it wrong is a coded
 * reason (dead-lettered by the consumer), never an exception. Only class 0 (person) is kept.
 */
export function parseDetections(bytes: Uint8Array, bounds: DetectionBounds): DetectionsParse {
  if (bytes.byteLength > MAX_DETECTIONS_BYTES)
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `${bytes.byteLength} bytes > ${MAX_DETECTIONS_BYTES}`,
    };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'BAD_JSON', reason: (err as Error).message };
  }
  if (!check(value)) {
    const errors = (check as unknown as { errors: Parameters<typeof describeErrors>[0] }).errors;
    const unknown = errors?.some((e) => e.keyword === 'additionalProperties');
    const range = errors?.some((e) => e.keyword === 'minimum' || e.keyword === 'maximum');
    return {
      ok: false,
      code: unknown ? 'UNKNOWN_FIELD' : range ? 'VALUE_OUT_OF_RANGE' : 'VALIDATION_FAILED',
      reason: describeErrors(errors),
    };
  }
  const ts = typeof value.ts === 'number' ? value.ts : Date.parse(value.ts);
  if (!Number.isFinite(ts)) return { ok: false, code: 'VALIDATION_FAILED', reason: '/ts: not a date' };
  if (ts > bounds.now + bounds.maxSkewMs)
    return {
      ok: false,
      code: 'TIMESTAMP_OUT_OF_RANGE',
      reason: `/ts: ${describeTime(ts)} is in the future`,
    };
  if (ts < bounds.now - bounds.maxAgeMs)
    return {
      ok: false,
      code: 'TIMESTAMP_OUT_OF_RANGE',
      reason: `/ts: ${describeTime(ts)} is too old`,
    };
  const detections: DetectionsFrame['detections'] = [];
  for (const [i, d] of value.detections.entries()) {
    const [x1, y1, x2, y2] = d.box;
    if (x2 <= x1 || y2 <= y1)
      return {
        ok: false,
        code: 'VALIDATION_FAILED',
        reason: `/detections/${i}/box: corners must satisfy x1 < x2 and y1 < y2`,
      };
    if ((d.cls ?? 0) !== 0) continue;
    detections.push({ box: { x1, y1, x2, y2 }, score: d.score, appearance: d.appearance ?? [] });
  }
  return { ok: true, frame: { ts, seq: value.seq ?? null, detections } };
}
