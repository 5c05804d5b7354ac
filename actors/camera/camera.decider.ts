import {
  initialTracker,
  track,
  DEFAULT_TRACKER,
  type TrackerConfig,
  type TrackerDetection,
  type TrackerState,
} from './tracker.ts';
import { initialZones, zonesStep, type ZoneDef, type ZoneEvent, type ZonesState } from './zones.ts';

/**
 * The camera actor's pure core. Commands are detections frames (from the camera's own detector
 * or an edge device), zone changes and the video side's state; events are what the camera saw.
 * `decide` runs the tracker and the zones; `evolve` applies the results. No clock, no I/O: the
 * same code runs live, in recovery replay and in zone replay over retained detections.
 */
export type VideoStatus = 'starting' | 'streaming' | 'reconnecting' | 'failed' | 'stopped';

export type CameraCommand =
  | { type: 'detections'; data: { seq: number; ts: number; detections: TrackerDetection[] } }
  | { type: 'set_zones'; data: { zones: ZoneDef[] } }
  | { type: 'video_state'; data: { state: VideoStatus; reason: string | null } };

export interface TrackSummary {
  trackId: number;
  firstSeen: number;
  lastSeen: number;
  frames: number;
  reidentified: number;
}

/** The fields of zone event `T` (distributive: `entry` and `exit` share one member whose type is a union). */
type ZoneEventData<T extends ZoneEvent['type']> = ZoneEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? Omit<E, 'type'>
      : never
    : never
  : never;

export type CameraEvent =
  | { type: 'frame_tracked'; data: { seq: number; ts: number; tracker: TrackerState; zones: ZonesState } }
  | { type: 'track_started'; data: { trackId: number; ts: number } }
  | { type: 'track_reidentified'; data: { trackId: number; ts: number; goneMs: number } }
  | { type: 'track_ended'; data: TrackSummary }
  | { type: 'zones_set'; data: { zones: ZoneDef[] } }
  | { type: 'camera_online'; data: { ts: number } }
  | { type: 'camera_offline'; data: { ts: number; reason: string | null } }
  | { [T in ZoneEvent['type']]: { type: T; data: ZoneEventData<T> } }[ZoneEvent['type']];

export interface CameraState {
  tracker: TrackerState;
  zones: ZonesState;
  zoneDefs: ZoneDef[];
  lastSeq: number;
  lastTs: number | null;
  online: boolean;
  /** Confirmed tracks so far: an estimate of unique visitors (a person lost too long counts twice). */
  visitors: number;
}

export function initialCameraState(zones: ZoneDef[] = []): CameraState {
  return {
    tracker: initialTracker(),
    zones: initialZones(),
    zoneDefs: zones,
    lastSeq: 0,
    lastTs: null,
    online: false,
    visitors: 0,
  };
}

export function decide(
  state: CameraState,
  command: CameraCommand,
  now: number,
  cfg: TrackerConfig = DEFAULT_TRACKER,
): CameraEvent[] {
  switch (command.type) {
    case 'detections': {
      const { seq, ts, detections } = command.data;
      // Redelivered or out-of-order frames change nothing: the tracker only moves forward.
      if (state.lastTs !== null && ts <= state.lastTs) return [];
      const step = track(state.tracker, ts, detections, cfg);
      const zones = zonesStep(state.zones, state.zoneDefs, ts, step.visible, step.ended);
      const events: CameraEvent[] = [];
      for (const t of step.confirmed)
        events.push({ type: 'track_started', data: { trackId: t.id, ts: t.firstSeen } });
      const before = new Map(state.tracker.tracks.map((t) => [t.id, t]));
      for (const t of step.reidentified)
        events.push({
          type: 'track_reidentified',
          data: { trackId: t.id, ts, goneMs: ts - (before.get(t.id)?.lastSeen ?? ts) },
        });
      for (const e of zones.events) {
        const { type, ...data } = e;
        events.push({ type, data } as CameraEvent);
      }
      for (const t of step.ended)
        events.push({
          type: 'track_ended',
          data: {
            trackId: t.id,
            firstSeen: t.firstSeen,
            lastSeen: t.lastSeen,
            frames: t.frames,
            reidentified: t.reidentified,
          },
        });
      events.unshift({ type: 'frame_tracked', data: { seq, ts, tracker: step.state, zones: zones.state } });
      return events;
    }
    case 'set_zones':
      return [{ type: 'zones_set', data: { zones: command.data.zones } }];
    case 'video_state': {
      const streaming = command.data.state === 'streaming';
      if (streaming && !state.online) return [{ type: 'camera_online', data: { ts: now } }];
      if (!streaming && state.online)
        return [{ type: 'camera_offline', data: { ts: now, reason: command.data.reason } }];
      return [];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown camera command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: CameraState, event: CameraEvent): CameraState {
  switch (event.type) {
    case 'frame_tracked':
      return {
        ...state,
        tracker: event.data.tracker,
        zones: event.data.zones,
        lastSeq: event.data.seq,
        lastTs: event.data.ts,
      };
    case 'track_started':
      return { ...state, visitors: state.visitors + 1 };
    case 'zones_set': {
      // Zones that changed shape start afresh: membership in the old polygon means nothing.
      const kept = new Set(
        event.data.zones
          .filter((z) => JSON.stringify(z) === JSON.stringify(state.zoneDefs.find((o) => o.id === z.id)))
          .map((z) => z.id),
      );
      const pick = <T>(rec: Record<string, T>): Record<string, T> =>
        Object.fromEntries(Object.entries(rec).filter(([k]) => kept.has(k)));
      return {
        ...state,
        zoneDefs: event.data.zones,
        zones: {
          members: pick(state.zones.members),
          lines: pick(state.zones.lines),
          occupancy: pick(state.zones.occupancy),
          crowding: pick(state.zones.crowding),
        },
      };
    }
    case 'camera_online':
      return { ...state, online: true };
    case 'camera_offline':
      return { ...state, online: false };
    default:
      return state;
  }
}

/** decide + evolve for one command: the new state and the events it produced. */
export function handle(
  state: CameraState,
  command: CameraCommand,
  now: number,
  cfg?: TrackerConfig,
): { state: CameraState; events: CameraEvent[] } {
  const events = decide(state, command, now, cfg);
  return { state: events.reduce(evolve, state), events };
}
