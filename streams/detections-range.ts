import { DeliverPolicy, type Consumer, type JetStreamClient } from '@nats-io/jetstream';
import { VigilError, type DetectionsFrame } from '../schemas/mod.ts';
import { decodeDetections, type DetectionsDecodeConfig } from './detections.ts';
import { isToken, type Names } from './subjects.ts';
import { storedAt } from './telemetry.decode.ts';

/**
 * Reading back what a camera saw: the frames of one camera retained in DETECTIONS whose frame
 * time lies in [from, to], in stream order — the order its actor consumed them live, so a replay
 * sees the same sequence (an edge device's late, out-of-order frame is dropped by the decider
 * there as it was live). Messages that the actor would have dead-lettered are skipped likewise.
 *
 * An ordered consumer starts at the stream time a frame of `from` could have arrived (the
 * allowed clock skew earlier) and stops once the stream passes `to` plus `lateMs`, catches up
 * with its end, or `maxFrames` are read (then `truncated`: the caller decides whether a partial
 * range is an answer).
 */
export interface DetectionsRange {
  tenantId: string;
  cameraId: string;
  /** Frame time, epoch ms, inclusive. */
  from: number;
  to: number;
  maxFrames: number;
  /** How long after its frame time a frame may still have been stored (publisher lag). */
  lateMs?: number;
  /** Gives up waiting for the server after this long. */
  timeoutMs?: number;
}

export interface DetectionsRangeResult {
  frames: DetectionsFrame[];
  /** More frames of the range exist than `maxFrames`. */
  truncated: boolean;
  /** Retained messages of the camera that fail validation (the actor dead-letters them). */
  rejected: number;
}

const BATCH = 256;

export async function readDetectionsRange(
  js: JetStreamClient,
  names: Names,
  config: DetectionsDecodeConfig,
  range: DetectionsRange,
): Promise<DetectionsRangeResult> {
  const { tenantId, cameraId, from, to, maxFrames } = range;
  if (!isToken(tenantId) || !isToken(cameraId))
    throw new VigilError(
      'BAD_SUBJECT',
      `tenant and camera ids must be plain tokens: ${tenantId}, ${cameraId}`,
    );
  if (!(Number.isFinite(from) && Number.isFinite(to) && from <= to))
    throw new VigilError('VALIDATION_FAILED', `range from ${from} to ${to} is empty or not a range`);
  const lateMs = range.lateMs ?? 30_000;
  const timeoutMs = range.timeoutMs ?? 10_000;
  const startAt = Math.max(0, from - config.VIGIL_MAX_CLOCK_SKEW_S * 1000);
  const stopAfter = to + lateMs;
  const out: DetectionsRangeResult = { frames: [], truncated: false, rejected: 0 };
  let consumer: Consumer;
  try {
    consumer = await js.consumers.get(names.detections.stream, {
      filter_subjects: names.detections.camera(tenantId, cameraId),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(startAt).toISOString(),
    });
  } catch (err) {
    throw new VigilError('DEPENDENCY_UNAVAILABLE', 'cannot read detections', { cause: err });
  }
  try {
    let pending = (await consumer.info()).num_pending;
    const deadline = Date.now() + timeoutMs;
    while (pending > 0) {
      if (Date.now() > deadline)
        throw new VigilError('DEPENDENCY_UNAVAILABLE', `reading detections took over ${timeoutMs} ms`);
      const batch = await consumer.fetch({
        max_messages: Math.min(BATCH, pending),
        expires: Math.max(1000, Math.min(5000, deadline - Date.now())),
      });
      let got = 0;
      for await (const msg of batch) {
        got++;
        pending = msg.info.pending;
        if (storedAt(msg) > stopAfter) return out;
        const decoded = decodeDetections(msg, names.ns, config);
        if (!decoded.ok) {
          out.rejected++;
          continue;
        }
        const frame = decoded.value.frame;
        if (frame.ts < from || frame.ts > to) continue;
        if (out.frames.length >= maxFrames) {
          out.truncated = true;
          return out;
        }
        out.frames.push(frame);
      }
      if (got === 0) break;
    }
    return out;
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
