import type { ClickHouseClient } from '@clickhouse/client';
import type { ServiceSchema } from 'moleculer';
import {
  CameraEvent,
  compile,
  PeopleEvent,
  type CameraEvent as CameraEventT,
  type PeopleEvent as PeopleEventT,
} from '../../schemas/mod.ts';
import { checkedAgainst, ConsumerRunner, parseJson, type Decoded, type JsMsg } from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { fromClickHouseError } from '../errors.ts';
import { SINK_ACK_WAIT_MS, sinkService } from './sink.service.ts';

/**
 * EVENTS `people.*` and `camera.*` → ClickHouse `people_events` and `track_summaries`
 * (schemas/clickhouse/005), JSONEachRow batches, on its own durable consumer: a slow or dead
 * ClickHouse holds back only this sink.
 *
 * Exactly once as readers see it: a redelivered event carries the same event id and lands on
 * the same sorting key (`people_events` ends in `event_id`; `track_summaries` is keyed by the
 * track's camera, first frame and id), so the ReplacingMergeTree collapses the copies and
 * readers using FINAL count each event once.
 *
 * The consumer takes the whole EVENTS stream without a filter (alert events are skipped here):
 * on nats-server 2.9.10 a filtered consumer lagging behind a backlog is served at a fraction of
 * its rate (see ConsumerOptions.filterSubject).
 */

export interface ChPeopleRow {
  tenant_id: string;
  site_id: string;
  camera_id: string;
  event_id: string;
  /** The event type without its `people.` / `camera.` prefix: entry, zone_exit, online, … */
  kind: string;
  zone_id: string;
  entrance: 0 | 1;
  track_id: number | null;
  at: number;
  at_ms: number;
  dwell_s: number | null;
  occupancy: number | null;
}

export interface ChTrackRow {
  tenant_id: string;
  site_id: string;
  camera_id: string;
  track_id: number;
  first_seen: number;
  first_seen_ms: number;
  last_seen_ms: number;
  duration_s: number;
  frames: number;
  reidentified: number;
}

type CameraSide = PeopleEventT | CameraEventT;

const checkPeople = compile(PeopleEvent);
const checkCamera = compile(CameraEvent);

const seconds = (ms: number): number => Math.floor(ms / 1000);
const kindOf = (type: string): string => type.slice(type.indexOf('.') + 1);

/** The ClickHouse rows one event makes (none for a track summary without its track). */
export function toPeopleRows(e: CameraSide): { event?: ChPeopleRow; track?: ChTrackRow } {
  const base = { tenant_id: e.tenantId, site_id: e.siteId, camera_id: e.data.cameraId };
  if (e.type === 'camera.track_ended') {
    const t = e.data.track;
    if (!t) return {};
    return {
      track: {
        ...base,
        track_id: t.trackId,
        first_seen: seconds(t.firstSeen),
        first_seen_ms: t.firstSeen,
        last_seen_ms: t.lastSeen,
        duration_s: (t.lastSeen - t.firstSeen) / 1000,
        frames: t.frames,
        reidentified: t.reidentified,
      },
    };
  }
  const people = 'zoneId' in e.data ? e.data : null;
  return {
    event: {
      ...base,
      event_id: e.id,
      kind: kindOf(e.type),
      zone_id: people?.zoneId ?? '',
      entrance: people?.entrance ? 1 : 0,
      track_id: people?.trackId ?? null,
      at: seconds(e.ts),
      at_ms: e.ts,
      dwell_s: people?.dwellSeconds ?? null,
      occupancy: people?.count ?? null,
    },
  };
}

/** A people or camera event, or null for the stream's other kinds (not this sink's). */
export function decodeCameraSideEvent(msg: JsMsg): Decoded<CameraSide | null> {
  const parsed = parseJson(msg);
  if (!parsed.ok) return parsed;
  const type = (parsed.value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !(type.startsWith('people.') || type.startsWith('camera.')))
    return { ok: true, value: null };
  return checkedAgainst<CameraSide>(type.startsWith('people.') ? checkPeople : checkCamera, parsed.value);
}

export interface PeopleChDeps extends NodeDeps {
  ch: ClickHouseClient;
}

function insert(ch: ClickHouseClient, table: string, values: readonly object[]): Promise<unknown> {
  return ch.insert({ table, values: [...values], format: 'JSONEachRow' });
}

export function peopleChRunner(deps: PeopleChDeps): ConsumerRunner<CameraSide | null> {
  const { names } = deps;
  return new ConsumerRunner<CameraSide | null>({
    js: deps.js,
    jsm: deps.jsm,
    names,
    log: deps.log,
    name: 'people_ch',
    stream: names.events.stream,
    durable: names.consumer('people_ch'),
    dlqSource: 'events',
    mode: 'batch',
    decode: decodeCameraSideEvent,
    handle: async (batch) => {
      const events: ChPeopleRow[] = [];
      const tracks: ChTrackRow[] = [];
      for (const d of batch) {
        if (!d.value) continue;
        const rows = toPeopleRows(d.value);
        if (rows.event) events.push(rows.event);
        if (rows.track) tracks.push(rows.track);
      }
      try {
        await Promise.all([
          events.length ? insert(deps.ch, 'people_events', events) : null,
          tracks.length ? insert(deps.ch, 'track_summaries', tracks) : null,
        ]);
      } catch (err) {
        throw fromClickHouseError(err, 'inserting people events into ClickHouse');
      }
    },
    batchSize: 1000,
    lingerMs: 250,
    ackWaitMs: SINK_ACK_WAIT_MS,
  });
}

export function peopleChService(deps: PeopleChDeps): ServiceSchema {
  return sinkService('people-ch', peopleChRunner(deps));
}
