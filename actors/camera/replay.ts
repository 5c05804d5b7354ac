import { handle, initialCameraState, type CameraEvent, type CameraState } from './camera.decider.ts';
import { DEFAULT_TRACKER, type TrackerConfig, type TrackerDetection } from './tracker.ts';
import type { ZoneDef, ZoneEvent } from './zones.ts';

/**
 * Zone replay, pure: a draft zone run over frames a camera already saw (the detections retained
 * in DETECTIONS), through the very decider the camera actor runs — same tracker, same zone code,
 * same configuration — giving the events the zone would have produced. The tracker does not
 * depend on zones, so the tracks, and hence the zone's events, are exactly the live ones when the
 * replay starts where the actor's tracking started; a replay that starts mid-stream begins with
 * no tracks, as the actor does after a restart (people already in view get new track ids, and
 * those already inside an area enter it at their first frames).
 */
export interface ReplayFrame {
  /** Frame time, epoch ms. */
  ts: number;
  seq?: number | null;
  detections: readonly TrackerDetection[];
}

export type ZoneReplayEvent = Extract<CameraEvent, { type: ZoneEvent['type'] }>;

export interface ZoneReplayResult {
  zoneId: string;
  /** Frames replayed (a frame not newer than the one before is skipped, as live). */
  frames: number;
  from: number | null;
  to: number | null;
  events: ZoneReplayEvent[];
  /** People still inside the (area or product) zone when the frames ran out: visits not closed. */
  inside: Array<{ trackId: number; since: number }>;
  /** Confirmed tracks seen: people the tracker counted over the range. */
  tracks: number;
}

const ZONE_EVENTS = new Set<string>([
  'zone_entry',
  'zone_exit',
  'product_interaction',
  'entry',
  'exit',
  'occupancy',
  'crowding_started',
  'crowding_ended',
] satisfies Array<ZoneEvent['type']>);

const isZoneEvent = (e: CameraEvent): e is ZoneReplayEvent => ZONE_EVENTS.has(e.type);

/** Feeds frames one at a time (a route streaming them from NATS holds no more than one). */
export class ZoneReplayer {
  private state: CameraState;
  private readonly events: ZoneReplayEvent[] = [];
  private frames = 0;
  private from: number | null = null;
  private tracks = 0;

  constructor(
    private readonly zone: ZoneDef,
    private readonly cfg: TrackerConfig = DEFAULT_TRACKER,
  ) {
    this.state = initialCameraState([zone]);
  }

  push(frame: ReplayFrame): void {
    if (this.state.lastTs !== null && frame.ts <= this.state.lastTs) return;
    const seq = frame.seq ?? this.state.lastSeq + 1;
    const step = handle(
      this.state,
      { type: 'detections', data: { seq, ts: frame.ts, detections: [...frame.detections] } },
      frame.ts,
      this.cfg,
    );
    this.state = step.state;
    this.frames++;
    this.from ??= frame.ts;
    for (const e of step.events) {
      if (e.type === 'track_started') this.tracks++;
      else if (isZoneEvent(e)) this.events.push(e);
    }
  }

  result(): ZoneReplayResult {
    const members = this.state.zones.members[this.zone.id] ?? {};
    return {
      zoneId: this.zone.id,
      frames: this.frames,
      from: this.from,
      to: this.state.lastTs,
      events: [...this.events],
      inside: Object.entries(members)
        .filter(([, m]) => m.inside)
        .map(([id, m]) => ({ trackId: Number(id), since: m.since }))
        .sort((a, b) => a.since - b.since || a.trackId - b.trackId),
      tracks: this.tracks,
    };
  }
}

export function replayZone(
  frames: Iterable<ReplayFrame>,
  zone: ZoneDef,
  cfg: TrackerConfig = DEFAULT_TRACKER,
): ZoneReplayResult {
  const replayer = new ZoneReplayer(zone, cfg);
  for (const f of frames) replayer.push(f);
  return replayer.result();
}
