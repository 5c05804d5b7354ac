import {
  initialTracker,
  track,
  DEFAULT_TRACKER,
  type TrackerConfig,
  type TrackerDetection,
  type TrackerState,
} from './tracker.ts';
import type { Severity } from '../../schemas/mod.ts';
import {
  DEFAULT_CROWDING_SEVERITY,
  initialZones,
  zonesStep,
  type ZoneDef,
  type ZoneEvent,
  type ZonesState,
} from './zones.ts';

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

/**
 * What a crowding event says about its alert: the rule's severity, and when the alert opened
 * (the crowding_started's instant; crowding_ended names the alert it ends by it). Absent on
 * events decided before crowding became an alert.
 */
export interface CrowdingAlertData {
  severity?: Severity;
  openedAt?: number;
}

type CameraEventData<T extends ZoneEvent['type']> = T extends 'crowding_started' | 'crowding_ended'
  ? ZoneEventData<T> & CrowdingAlertData
  : ZoneEventData<T>;

export type CameraEvent =
  | { type: 'frame_tracked'; data: { seq: number; ts: number; tracker: TrackerState; zones: ZonesState } }
  | { type: 'track_started'; data: { trackId: number; ts: number } }
  | { type: 'track_reidentified'; data: { trackId: number; ts: number; goneMs: number } }
  | { type: 'track_ended'; data: TrackSummary }
  | { type: 'zones_set'; data: { zones: ZoneDef[] } }
  | { type: 'camera_online'; data: { ts: number } }
  | { type: 'camera_offline'; data: { ts: number; reason: string | null } }
  | { [T in ZoneEvent['type']]: { type: T; data: CameraEventData<T> } }[ZoneEvent['type']];

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
        events.push({ type, data: { ...data, ...crowdingAlertOf(e, state) } } as CameraEvent);
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
    case 'set_zones': {
      // A crowded zone that changed ends its crowding here: its alert resolves rather than stay
      // open with no state left to close it. (A deleted zone's alerts go with it.)
      const kept = keptZones(state.zoneDefs, command.data.zones);
      const changed = new Set(command.data.zones.filter((z) => !kept.has(z.id)).map((z) => z.id));
      const ts = state.lastTs ?? now;
      const ended = Object.entries(state.zones.crowding).flatMap(([zoneId, c]): CameraEvent[] => {
        if (!c.active || !changed.has(zoneId)) return [];
        const e = {
          type: 'crowding_ended' as const,
          zoneId,
          ts,
          count: state.zones.occupancy[zoneId] ?? 0,
          since: c.since ?? ts,
        };
        const { type, ...data } = e;
        return [{ type, data: { ...data, ...crowdingAlertOf(e, state) } }];
      });
      return [{ type: 'zones_set', data: { zones: command.data.zones } }, ...ended];
    }
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

/** Ids of the zones `next` keeps exactly as they were. */
function keptZones(prior: readonly ZoneDef[], next: readonly ZoneDef[]): Set<string> {
  return new Set(
    next
      .filter((z) => JSON.stringify(z) === JSON.stringify(prior.find((o) => o.id === z.id)))
      .map((z) => z.id),
  );
}

/** The alert facts of a crowding event (the zone's rule, the alert the prior state has open). */
function crowdingAlertOf(e: ZoneEvent, prior: CameraState): CrowdingAlertData {
  if (e.type !== 'crowding_started' && e.type !== 'crowding_ended') return {};
  const severity =
    prior.zoneDefs.find((z) => z.id === e.zoneId)?.crowding?.severity ?? DEFAULT_CROWDING_SEVERITY;
  const openedAt =
    e.type === 'crowding_started' ? e.ts : (prior.zones.crowding[e.zoneId]?.openedAt ?? e.since);
  return { severity, openedAt };
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
      const kept = keptZones(state.zoneDefs, event.data.zones);
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
