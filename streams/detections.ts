import type { JetStreamClient, JsMsg, PubAck } from '@nats-io/jetstream';
import {
  parseDetections,
  VigilError,
  type Config,
  type DetectionsFrame,
  type DetectionsIn,
} from '../schemas/mod.ts';
import type { Decoded } from './consumer.ts';
import { natsPartition } from './partitions.ts';
import { isToken, type Names } from './subjects.ts';
import { storedAt } from './telemetry.decode.ts';

/**
 * DETECTIONS: per-frame people detections of a camera, `[ns.]det.<tenant>.<camera>` as
 * published; the server's subject mapping appends the partition token exactly as it does for
 * telemetry, so a camera's frames reach one actor in order.
 */
export interface ParsedDetectionsSubject {
  tenantId: string;
  cameraId: string;
  partition: number | null;
}

export function parseDetectionsSubject(subject: string, ns = ''): ParsedDetectionsSubject | null {
  const parts = subject.split('.');
  if (ns && parts.shift() !== ns) return null;
  if (parts[0] !== 'det' || parts.length < 3 || parts.length > 4) return null;
  const [, tenantId, cameraId, p] = parts;
  if (!tenantId || !cameraId || !isToken(tenantId) || !isToken(cameraId)) return null;
  const partition = p === undefined ? null : Number(p);
  if (partition !== null && !Number.isInteger(partition)) return null;
  return { tenantId, cameraId, partition };
}

export function detectionsPartition(tenantId: string, cameraId: string, count: number): number {
  return natsPartition([tenantId, cameraId], count);
}

export interface StoredDetections {
  tenantId: string;
  cameraId: string;
  frame: DetectionsFrame;
  receivedAt: number;
}

export type DetectionsDecodeConfig = Pick<
  Config,
  'VIGIL_MAX_READING_AGE_S' | 'VIGIL_MAX_CLOCK_SKEW_S' | 'VIGIL_PARTITIONS'
>;

/**
 * Decode a DETECTIONS message: subject shape, the partition token the server mapping computes,
 * then the body. Time bounds are judged against the stream timestamp, so every consumer and
 * every replay reaches the same verdict.
 */
export function decodeDetections(
  msg: JsMsg,
  ns: string,
  config: DetectionsDecodeConfig,
): Decoded<StoredDetections> {
  const parsed = parseDetectionsSubject(msg.subject, ns);
  if (!parsed)
    return {
      ok: false,
      code: 'BAD_SUBJECT',
      reason: `subject ${msg.subject} is not <ns.>det.<tenant>.<camera>.<p>`,
    };
  const expected = detectionsPartition(parsed.tenantId, parsed.cameraId, config.VIGIL_PARTITIONS);
  if (parsed.partition !== expected)
    return {
      ok: false,
      code: 'BAD_SUBJECT',
      reason: `subject ${msg.subject}: partition token ${parsed.partition ?? '(none)'} is not ${expected} (publish to <ns.>det.<tenant>.<camera>)`,
    };
  const receivedAt = storedAt(msg);
  const r = parseDetections(msg.data, {
    now: receivedAt,
    maxAgeMs: config.VIGIL_MAX_READING_AGE_S * 1000,
    maxSkewMs: config.VIGIL_MAX_CLOCK_SKEW_S * 1000,
  });
  if (!r.ok) return { ok: false, code: r.code, reason: r.reason };
  return {
    ok: true,
    value: {
      tenantId: parsed.tenantId.toLowerCase(),
      cameraId: parsed.cameraId.toLowerCase(),
      frame: r.frame,
      receivedAt,
    },
  };
}

const encoder = new TextEncoder();

/**
 * Publish one frame's detections. The message id is the camera and frame time, so a retried
 * publish (or a restarted decoder re-sending a frame) is stored once.
 */
export function publishDetections(
  js: JetStreamClient,
  names: Names,
  tenantId: string,
  cameraId: string,
  frame: DetectionsIn,
): Promise<PubAck> {
  if (!isToken(tenantId) || !isToken(cameraId))
    throw new VigilError(
      'BAD_SUBJECT',
      `tenant and camera ids must be plain tokens: ${tenantId}, ${cameraId}`,
    );
  return js.publish(names.detections.publish(tenantId, cameraId), encoder.encode(JSON.stringify(frame)), {
    msgID: `det.${tenantId}.${cameraId}.${String(frame.ts)}`,
  });
}
