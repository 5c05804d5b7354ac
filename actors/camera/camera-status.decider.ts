import type { VideoState } from '../video/mod.ts';
import { alertIdFor } from '../equipment/mod.ts';

/**
 * Whether a camera is online, from its video pipeline's state changes: pure, no I/O, no clock
 * (the service passes the instant). A camera that stops streaming — its source dropped
 * (`reconnecting`) or cannot work (`failed`) — goes `camera.offline` with the reason and opens a
 * `camera_offline` alert; streaming again is `camera.online`, which resolves that alert. A
 * pipeline stopped on purpose (restart, update, delete, node shutdown) changes nothing: the
 * camera did not go silent, and a restarted pipeline carries the same status on.
 */
export const CAMERA_OFFLINE_RULE = 'camera_offline';

export interface CameraStatus {
  /** null until the first pipeline either streams or gives up. */
  online: boolean | null;
  /** The open camera_offline alert, while offline. */
  alert: { alertId: string; openedAt: number } | null;
}

export type CameraStatusCommand = {
  type: 'VideoStateChanged';
  data: { cameraId: string; state: VideoState; reason: string | null; at: number };
};

export type CameraStatusEvent =
  | {
      type: 'camera.offline';
      data: { at: number; reason: string; alert: { alertId: string; openedAt: number } };
    }
  | { type: 'camera.online'; data: { at: number; alert: { alertId: string; openedAt: number } | null } };

export const initialCameraStatus = (): CameraStatus => ({ online: null, alert: null });

export function handle(
  state: CameraStatus,
  command: CameraStatusCommand,
): { state: CameraStatus; events: CameraStatusEvent[] } {
  const { cameraId, state: video, reason, at } = command.data;
  switch (video) {
    case 'streaming':
      if (state.online === true) return { state, events: [] };
      return {
        state: { online: true, alert: null },
        events: [{ type: 'camera.online', data: { at, alert: state.alert } }],
      };
    case 'reconnecting':
    case 'failed': {
      if (state.online === false) return { state, events: [] };
      const alert = { alertId: alertIdFor(cameraId, CAMERA_OFFLINE_RULE, at), openedAt: at };
      return {
        state: { online: false, alert },
        events: [{ type: 'camera.offline', data: { at, reason: reason ?? 'stream lost', alert } }],
      };
    }
    case 'starting':
    case 'stopped':
      return { state, events: [] };
    default: {
      const unknown: never = video;
      return unknown;
    }
  }
}
