import type { CameraEvent as PublishedCameraEvent, PeopleEvent } from '../../schemas/mod.ts';
// The pure id function alone: this module is in the detector worker's bundle (via yolo.ts →
// camera/mod.ts), which must not pull in the equipment engine and its I/O.
import { alertIdFor } from '../equipment/alert-id.ts';
import type { CameraEvent } from './camera.decider.ts';

/** Rule key of a zone's crowding alerts (one open alert per zone). */
export const CROWDING_RULE = 'crowding';

/**
 * The crowding alert of a zone that opened at `openedAt`: its id derives from zone and instant,
 * so crowding_started and the crowding_ended that closes it name the same alert, replayed or not.
 */
export function crowdingAlert(zoneId: string, openedAt: number): { alertId: string; openedAt: number } {
  return { alertId: alertIdFor(zoneId, CROWDING_RULE, openedAt), openedAt };
}

/**
 * The camera decider's events as they leave the actor on EVENTS (`people.*`, `camera.*`), pure.
 * Ids derive from the cause — camera, what, zone, track, frame time — so an actor that replays
 * frames after a restart republishes the same ids and the stream's duplicate window (and the
 * ClickHouse sink's key) keeps one copy. Bookkeeping events (frame tracked, track started or
 * re-identified, zones set) stay inside the actor.
 */
export interface CameraIdentity {
  tenantId: string;
  siteId: string;
  cameraId: string;
  /** Line zones whose crossings are footfall. */
  entrances: ReadonlySet<string>;
}

export type OutboundEvent = PeopleEvent | PublishedCameraEvent;

const PEOPLE = {
  entry: 'people.entry',
  exit: 'people.exit',
  zone_entry: 'people.zone_entry',
  zone_exit: 'people.zone_exit',
  product_interaction: 'people.product_interaction',
  occupancy: 'people.occupancy',
  crowding_started: 'people.crowding_started',
  crowding_ended: 'people.crowding_ended',
} as const satisfies Record<string, PeopleEvent['type']>;

export function outboundEvents(events: readonly CameraEvent[], cam: CameraIdentity): OutboundEvent[] {
  const { tenantId, siteId, cameraId } = cam;
  const out: OutboundEvent[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'entry':
      case 'exit':
      case 'zone_entry':
      case 'zone_exit':
      case 'product_interaction':
      case 'occupancy':
      case 'crowding_started':
      case 'crowding_ended': {
        const d = e.data;
        const trackId = 'trackId' in d ? d.trackId : null;
        // Occupancy and crowding are per zone and frame; the others per zone, track and instant.
        const cause = trackId === null ? `${d.ts}` : `${trackId}.${d.ts}`;
        out.push({
          id: `${cameraId}.${e.type}.${d.zoneId}.${cause}`,
          type: PEOPLE[e.type],
          tenantId,
          siteId,
          ts: d.ts,
          data: {
            cameraId,
            zoneId: d.zoneId,
            entrance: cam.entrances.has(d.zoneId),
            trackId,
            dwellSeconds: 'dwellSeconds' in d ? d.dwellSeconds : null,
            count: 'count' in d ? d.count : null,
            since: 'since' in d ? d.since : null,
            ...('severity' in d && d.severity !== undefined
              ? { severity: d.severity, alert: crowdingAlert(d.zoneId, d.openedAt ?? d.ts) }
              : {}),
          },
        });
        break;
      }
      case 'track_ended':
        out.push({
          id: `${cameraId}.track_ended.${e.data.trackId}.${e.data.firstSeen}`,
          type: 'camera.track_ended',
          tenantId,
          siteId,
          ts: e.data.lastSeen,
          data: { cameraId, track: { ...e.data } },
        });
        break;
      case 'camera_online':
      case 'camera_offline':
        out.push({
          id: `${cameraId}.${e.type}.${e.data.ts}`,
          type: e.type === 'camera_online' ? 'camera.online' : 'camera.offline',
          tenantId,
          siteId,
          ts: e.data.ts,
          data: { cameraId, reason: e.type === 'camera_offline' ? e.data.reason : null },
        });
        break;
      case 'frame_tracked':
      case 'track_started':
      case 'track_reidentified':
      case 'zones_set':
        break;
      default: {
        const unknown: never = e;
        throw new Error(`unknown camera event ${JSON.stringify(unknown)}`);
      }
    }
  }
  return out;
}
