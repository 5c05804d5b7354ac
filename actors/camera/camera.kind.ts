import {
  decodeDetections,
  publishEvent,
  type DetectionsDecodeConfig,
  type JetStreamClient,
  type Names,
  type StoredDetections,
} from '../../streams/mod.ts';
import type { ActorKind, ActorView, SnapshotCodec } from '../kernel/mod.ts';
import { fromNatsError } from '../errors.ts';
import {
  handle,
  initialCameraState,
  type CameraCommand,
  type CameraEvent,
  type CameraState,
} from './camera.decider.ts';
import type { CameraSetup } from './camera.repo.ts';
import { outboundEvents } from './people-events.ts';

/**
 * Camera actors as a kernel actor kind: one actor per camera, fed by DETECTIONS in order
 * (`det.<tenant>.<camera>`, partitioned by the server's subject mapping like telemetry). The
 * tracker and zone state live in the decider's state and travel with the snapshot; the zones
 * come from PostgreSQL (the context) and enter the state through a `set_zones` command, so a
 * zone change is an ordered step of the actor like a frame.
 */
export interface CameraRef {
  tenantId: string;
  cameraId: string;
}

/** The camera's site and zones as PostgreSQL has them; re-read every `refreshMs` and on `ctl.camera.changed`. */
export type CameraContext = CameraSetup;

export type CameraActor = ActorView<CameraRef, CameraState, CameraContext>;

export type CameraKind = ActorKind<
  CameraRef,
  StoredDetections,
  CameraState,
  CameraCommand,
  CameraEvent,
  CameraContext
>;

/** Snapshot v1: `{ v: 1, seq, at, ref, state }`. */
export const cameraCodec: SnapshotCodec<CameraRef, CameraState, CameraContext> = {
  version: 1,
  encode: (actor) => ({ ref: actor.ref, state: actor.state }),
  decode(body, cameraId) {
    if (body.v !== 1) return `unknown snapshot version ${String(body.v)}`;
    const ref = body['ref'] as Partial<CameraRef> | undefined;
    const state = body['state'] as Partial<CameraState> | undefined;
    if (ref?.cameraId !== cameraId || typeof ref.tenantId !== 'string') return 'snapshot of another camera';
    if (!state || typeof state !== 'object') return 'no state';
    if (!state.tracker || !Array.isArray(state.tracker.tracks)) return 'no tracker state';
    if (!state.zones || !Array.isArray(state.zoneDefs)) return 'no zone state';
    return { ref: { tenantId: ref.tenantId, cameraId }, state: state as CameraState };
  },
};

/** Whether the zones the actor runs are the ones PostgreSQL has (same ids, same shapes, same order). */
export function zonesCurrent(state: CameraState, ctx: CameraContext): boolean {
  return JSON.stringify(state.zoneDefs) === JSON.stringify(ctx.zones);
}

export interface CameraKindDeps {
  js: JetStreamClient;
  names: Names;
  config: DetectionsDecodeConfig;
  /** The camera and its zones; null when it does not exist (its frames are dead-lettered). */
  setup(ref: CameraRef): Promise<CameraSetup | null>;
  /** Re-read the camera's zones this often, in case a `ctl.camera.changed` was missed. */
  refreshMs: number;
}

export function cameraKind(d: CameraKindDeps): CameraKind {
  return {
    name: 'camera',
    source: {
      stream: d.names.detections.stream,
      partition: (p) => d.names.detections.partition(p),
      dlqSource: 'detections',
    },
    logKey: 'cameraId',
    decode: (msg) => decodeDetections(msg, d.names.ns, d.config),
    refOf: (m) => ({ tenantId: m.tenantId, cameraId: m.cameraId }),
    keyOf: (ref) => ref.cameraId,
    snapshotKey: (cameraId) => `cam.${cameraId}`,
    codec: cameraCodec,
    initialState: () => initialCameraState(),
    contextTtlMs: d.refreshMs,
    async loadContext(ref) {
      const setup = await d.setup(ref);
      return setup
        ? { ok: true, context: setup }
        : {
            ok: false,
            code: 'UNKNOWN_CAMERA',
            reason: `camera ${ref.cameraId} of tenant ${ref.tenantId} does not exist`,
          };
    },
    /** Zones edited while no actor ran the camera (or whose notice was lost) take effect now. */
    async reconcile(actor) {
      return zonesCurrent(actor.state, actor.context)
        ? []
        : [{ type: 'set_zones', data: { zones: actor.context.zones } }];
    },
    toCommand: (m) => ({
      type: 'detections',
      data: { seq: m.frame.seq ?? 0, ts: m.frame.ts, detections: m.frame.detections },
    }),
    handle: (state, command, now) => handle(state, command, now),
    async emit(events, actor) {
      const { tenantId, siteId, cameraId, entrances } = actor.context;
      const out = outboundEvents(events, { tenantId, siteId, cameraId, entrances: new Set(entrances) });
      if (out.length === 0) return;
      try {
        // Sent back to back on one connection, so the stream stores them in this order.
        await Promise.all(out.map((e) => publishEvent(d.js, d.names, e)));
      } catch (err) {
        throw fromNatsError(err, 'publishing people events');
      }
    },
  };
}
