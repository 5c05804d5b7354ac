import { headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { VigilError, type CameraHealthRequest } from '../schemas/mod.ts';
import type { Names } from './subjects.ts';

/**
 * A camera's latest decoded frame, asked of the node that runs its video pipeline (NATS
 * request/reply on `names.cameras.frame(cameraId)`, body `CameraHealthRequest`: the caller's
 * tenant). Only that node subscribes, so the request reaches it without anyone knowing where the
 * camera runs; the gateway holds no frames. The answer is the JPEG itself as the payload, its
 * facts in headers; a node that runs the camera but has no frame says why in headers, with no
 * payload. Nobody answering means no node runs the camera now.
 */
export const FRAME_HEADERS = {
  /** Epoch ms of the frame (the pipeline's clock for that frame). */
  at: 'Vigil-Frame-At',
  width: 'Vigil-Frame-Width',
  height: 'Vigil-Frame-Height',
  /** Set when there is no frame: `NO_FRAME`, with the reason. */
  code: 'Vigil-Error-Code',
  reason: 'Vigil-Reason',
} as const;

export interface CameraFrame {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Epoch ms. */
  at: number;
}

export type CameraFrameAnswer =
  | ({ kind: 'frame' } & CameraFrame)
  /** The node runs the camera and has no frame (not streaming yet, reconnecting, failed). */
  | { kind: 'none'; reason: string }
  /** No node runs the camera right now. */
  | { kind: 'unreachable' };

/** The node's answer: the frame, or why there is none. */
export function respondFrame(msg: Msg, answer: CameraFrame | { reason: string }): void {
  const h = headers();
  if ('jpeg' in answer) {
    h.set(FRAME_HEADERS.at, String(answer.at));
    h.set(FRAME_HEADERS.width, String(answer.width));
    h.set(FRAME_HEADERS.height, String(answer.height));
    msg.respond(answer.jpeg, { headers: h });
    return;
  }
  h.set(FRAME_HEADERS.code, 'NO_FRAME');
  // Header values are one line of visible text.
  h.set(FRAME_HEADERS.reason, answer.reason.replace(/[\r\n]+/g, ' ').slice(0, 500));
  msg.respond(new Uint8Array(0), { headers: h });
}

/** Ask the node running `cameraId` for its latest frame, as tenant `tenantId`. */
export async function requestCameraFrame(
  nc: NatsConnection,
  names: Names,
  cameraId: string,
  tenantId: string,
  timeoutMs = 3000,
): Promise<CameraFrameAnswer> {
  const request: CameraHealthRequest = { tenantId };
  let msg: Msg;
  try {
    msg = await nc.request(names.cameras.frame(cameraId), JSON.stringify(request), { timeout: timeoutMs });
  } catch {
    // No responders (nobody runs it) or no answer in time: either way no frame from a node.
    return { kind: 'unreachable' };
  }
  const h = msg.headers;
  if (h?.get(FRAME_HEADERS.code)) return { kind: 'none', reason: h.get(FRAME_HEADERS.reason) || 'no frame' };
  const at = Number(h?.get(FRAME_HEADERS.at));
  const width = Number(h?.get(FRAME_HEADERS.width));
  const height = Number(h?.get(FRAME_HEADERS.height));
  if (!Number.isFinite(at) || !(width > 0) || !(height > 0) || msg.data.length === 0)
    throw new VigilError('INTERNAL', `camera ${cameraId}: malformed frame answer`);
  return {
    kind: 'frame',
    // A copy: the payload's memory belongs to the connection's read buffer.
    jpeg: Buffer.from(msg.data),
    width,
    height,
    at,
  };
}
