import type { VideoState } from '../video/mod.ts';
import { alertIdFor } from '../equipment/mod.ts';

/**
 * Whether a camera is online, from its video pipeline's state changes: pure, no I/O, no clock
 * (the service passes the instant). A camera that stops streaming — its source dropped
 * (`reconnecting`) or cannot work (`failed`) — goes `camera.offline` with the reason and opens a
 * `camera_offline` alert; streaming again is `camera.online`, which resolves that alert. A
 * pipeline stopped on purpose (restart, update, delete, node shutdown) changes nothing: the
 * camera did not go silent, and a restarted pipeline carries the same status on.
 *
 * The alert walks the engine's lifecycle, on server time: a lost stream is pending for the
 * camera's grace (`forMs`) — a reconnect within it is a hiccup and pages nobody — then fires
 * (`camera.offline`); a stream back is recovering for the clear delay (`clearMs`) — dropping
 * again within it keeps the same alert open — then resolves (`camera.online`). The service arms
 * a timer for `wakeAt` and sends `DelayElapsed` when it fires.
 */
export const CAMERA_OFFLINE_RULE = 'camera_offline';

/** A camera's offline rule: how long a lost stream waits before it alerts, and a regained one before it clears. */
export interface OfflinePolicy {
  forMs: number;
  clearMs: number;
}

/** No grace and no clear delay: every change counts at once. */
export const IMMEDIATE: OfflinePolicy = { forMs: 0, clearMs: 0 };

export interface CameraStatus {
  /** null until the first pipeline either streams or gives up. */
  online: boolean | null;
  /** The open camera_offline alert, while offline. */
  alert: { alertId: string; openedAt: number } | null;
  /**
   * A change waiting out its delay — going offline (pending) or back online (recovering) — since
   * `since`; absent when none waits.
   */
  waiting?: { online: boolean; since: number; reason: string | null };
}

export type CameraStatusCommand =
  | {
      type: 'VideoStateChanged';
      data: { cameraId: string; state: VideoState; reason: string | null; at: number };
    }
  | { type: 'DelayElapsed'; data: { cameraId: string; at: number } };

export type CameraStatusEvent =
  | {
      type: 'camera.offline';
      data: { at: number; reason: string; alert: { alertId: string; openedAt: number } };
    }
  | { type: 'camera.online'; data: { at: number; alert: { alertId: string; openedAt: number } | null } };

export const initialCameraStatus = (): CameraStatus => ({ online: null, alert: null });

type Decided = { state: CameraStatus; events: CameraStatusEvent[] };

/** When the waiting change is due (server time), or null when nothing waits. */
export function wakeAt(state: CameraStatus, policy: OfflinePolicy = IMMEDIATE): number | null {
  const w = state.waiting;
  return w ? w.since + (w.online ? policy.clearMs : policy.forMs) : null;
}

/** The status without a waiting change. */
function settled(state: CameraStatus): CameraStatus {
  return { online: state.online, alert: state.alert };
}

function goOffline(cameraId: string, at: number, reason: string | null): Decided {
  const alert = { alertId: alertIdFor(cameraId, CAMERA_OFFLINE_RULE, at), openedAt: at };
  return {
    state: { online: false, alert },
    events: [{ type: 'camera.offline', data: { at, reason: reason ?? 'stream lost', alert } }],
  };
}

function goOnline(state: CameraStatus, at: number): Decided {
  return {
    state: { online: true, alert: null },
    events: [{ type: 'camera.online', data: { at, alert: state.alert } }],
  };
}

export function handle(
  state: CameraStatus,
  command: CameraStatusCommand,
  policy: OfflinePolicy = IMMEDIATE,
): Decided {
  const none: Decided = { state, events: [] };
  if (command.type === 'DelayElapsed') {
    const due = wakeAt(state, policy);
    if (due === null || command.data.at < due) return none;
    return state.waiting!.online
      ? goOnline(state, command.data.at)
      : goOffline(command.data.cameraId, command.data.at, state.waiting!.reason);
  }
  const { cameraId, state: video, reason, at } = command.data;
  switch (video) {
    case 'streaming':
      if (state.waiting?.online === true) return none;
      // Back within the grace: a hiccup, nothing to say.
      if (state.online === true) return state.waiting ? { state: settled(state), events: [] } : none;
      // Only an open alert waits out the clear delay; a first stream is online at once.
      if (state.alert && policy.clearMs > 0)
        return {
          state: { ...settled(state), waiting: { online: true, since: at, reason: null } },
          events: [],
        };
      return goOnline(state, at);
    case 'reconnecting':
    case 'failed':
      if (state.waiting?.online === false) return none;
      // Dropped again while recovering: the same alert stays open.
      if (state.online === false) return state.waiting ? { state: settled(state), events: [] } : none;
      if (policy.forMs > 0)
        return { state: { ...settled(state), waiting: { online: false, since: at, reason } }, events: [] };
      return goOffline(cameraId, at, reason);
    case 'starting':
    case 'stopped':
      return none;
    default: {
      const unknown: never = video;
      return unknown;
    }
  }
}

/**
 * A camera disabled, deleted or moved to another node: a change it was waiting out is dropped
 * (a camera stopped on purpose did not go silent; the node that runs it next decides afresh).
 */
export const withoutWaiting = settled;
