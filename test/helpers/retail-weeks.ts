/**
 * Synthetic weeks of a store's camera events with a known truth: a weekly footfall pattern
 * with week-to-week noise that sums to zero over every week, a planted promotion (every
 * visitor count of its week × (1 + lift)) and planted spikes (one day × factor). The local
 * clock is built from the zone's known UTC offsets (New York: EDT −4 h until 2026-11-01, EST
 * −5 h from it), independent of the code under test, and each day's truth is counted while
 * its events are made.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { PeopleEvent } from '../../gateway/analytics/mod.ts';

export const TZ = 'America/New_York';
export const CAMERA_DOOR = '00000000-0000-4000-8000-0000000000a1';
export const CAMERA_COOLER = '00000000-0000-4000-8000-0000000000b2';
export const ZONE_DOOR = 'door-line';
export const ZONE_AISLE = 'aisle';
export const ZONE_COOLER = 'cooler';

/** Monday to Sunday. */
const BASE = [400, 420, 440, 480, 600, 800, 720];
/** Per-weekday noise shape: sums to zero, so every week's total is the same. */
const SHAPE = [1, 1, 1, -1, -1, -2, 1];
/** Per-week noise scale, cycling: any four consecutive weeks have median 0. */
const SCALE = [1, -1, 2, -2];

export interface DayTruth {
  day: string;
  footfall: number;
  uniqueVisitors: number;
  interactions: number;
  zoneEntries: number;
  dwells: number[];
  peakOccupancy: number;
  peakAtMs: number;
  hourly: number[];
}

export interface RetailWeeks {
  events: PeopleEvent[];
  /** The events made for each day (all inside that local day). */
  byDay: Map<string, PeopleEvent[]>;
  truth: DayTruth[];
  promotion: { from: string; to: string; liftPct: number };
  spikeDays: string[];
}

export interface RetailWeeksOptions {
  start: string;
  weeks: number;
  promotionWeek: number;
  promotionLift: number;
  spikes: Array<{ week: number; weekday: number; factor: number }>;
  /** Footfall Monday to Sunday before noise; multiples of 4 keep a 25 % lift exact. */
  base?: readonly number[];
}

export const DEFAULT_WEEKS: RetailWeeksOptions = {
  start: '2026-09-07',
  weeks: 13,
  promotionWeek: 5,
  promotionLift: 0.25,
  spikes: [
    { week: 9, weekday: 1, factor: 2 },
    { week: 11, weekday: 5, factor: 2 },
  ],
};

const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** Local wall time of a day in New York → epoch ms, from the zone's two offsets of 2026. */
function newYork(day: string, seconds: number): number {
  const offsetH = day < '2026-11-01' ? 4 : 5;
  return Date.parse(`${day}T00:00:00Z`) + seconds * 1000 + offsetH * 3_600_000;
}

export function retailWeeks(o: RetailWeeksOptions = DEFAULT_WEEKS): RetailWeeks {
  const events: PeopleEvent[] = [];
  const truth: DayTruth[] = [];
  const byDay = new Map<string, PeopleEvent[]>();
  const spikeDays: string[] = [];
  let seq = 0;
  const push = (e: Omit<PeopleEvent, 'eventId'>) => events.push({ eventId: `e${++seq}`, ...e });
  for (let w = 0; w < o.weeks; w++) {
    for (let wd = 0; wd < 7; wd++) {
      const day = addDays(o.start, w * 7 + wd);
      let footfall = (o.base ?? BASE)[wd]! + 4 * SHAPE[wd]! * SCALE[w % 4]!;
      if (w === o.promotionWeek) footfall = Math.round(footfall * (1 + o.promotionLift));
      const spike = o.spikes.find((s) => s.week === w && s.weekday === wd);
      if (spike) {
        footfall = Math.round(footfall * spike.factor);
        spikeDays.push(day);
      }
      const t: DayTruth = {
        day,
        footfall,
        uniqueVisitors: 0,
        interactions: 0,
        zoneEntries: 0,
        dwells: [],
        peakOccupancy: 0,
        peakAtMs: 0,
        hourly: new Array<number>(24).fill(0),
      };
      const dayFirst = events.length;
      const aisle: Array<{ at: number; delta: 1 | -1 }> = [];
      const trackBase = (w * 7 + wd) * 10_000;
      for (let j = 0; j < footfall; j++) {
        // Doors open 09:00–21:00, evenly spread; the last visitor comes at 23:30, half an hour
        // before local midnight (which is 03:30 or 04:30 UTC of the next day).
        const local = j === footfall - 1 ? 23.5 * 3600 : 9 * 3600 + Math.floor((j * 12 * 3600) / footfall);
        const at = newYork(day, local);
        const trackId = trackBase + j;
        t.hourly[Math.floor(local / 3600)]!++;
        t.uniqueVisitors++;
        const base = { cameraId: CAMERA_DOOR, trackId, dwellS: null, occupancy: null };
        push({ ...base, kind: 'entry', zoneId: ZONE_DOOR, entrance: true, atMs: at });
        push({ ...base, kind: 'exit', zoneId: ZONE_DOOR, entrance: true, atMs: at + 600_000 });
        const dwell = 30 + (j % 7) * 15;
        push({ ...base, kind: 'zone_entry', zoneId: ZONE_AISLE, entrance: false, atMs: at + 10_000 });
        push({
          ...base,
          kind: 'zone_exit',
          zoneId: ZONE_AISLE,
          entrance: false,
          atMs: at + 10_000 + dwell * 1000,
          dwellS: dwell,
        });
        t.zoneEntries++;
        t.dwells.push(dwell);
        aisle.push({ at: at + 10_000, delta: 1 }, { at: at + 10_000 + dwell * 1000, delta: -1 });
        if (j % 5 === 0) {
          // The cooler camera sees the same person as its own track.
          const cooler = { cameraId: CAMERA_COOLER, trackId: trackBase + 5_000 + j, occupancy: null };
          push({
            ...cooler,
            kind: 'zone_entry',
            zoneId: ZONE_COOLER,
            entrance: false,
            atMs: at + 20_000,
            dwellS: null,
          });
          push({
            ...cooler,
            kind: 'product_interaction',
            zoneId: ZONE_COOLER,
            entrance: false,
            atMs: at + 23_000,
            dwellS: 3,
          });
          push({
            ...cooler,
            kind: 'zone_exit',
            zoneId: ZONE_COOLER,
            entrance: false,
            atMs: at + 60_000,
            dwellS: 40,
          });
          t.uniqueVisitors++;
          t.interactions++;
          t.zoneEntries++;
          t.dwells.push(40);
        }
      }
      // Occupancy of the aisle as the camera reports it: a count at every change (leaving first
      // at a tie). The truth's peak is the first instant the highest count is reached.
      aisle.sort((a, b) => a.at - b.at || a.delta - b.delta);
      let count = 0;
      for (const c of aisle) {
        count += c.delta;
        push({
          cameraId: CAMERA_DOOR,
          trackId: null,
          kind: 'occupancy',
          zoneId: ZONE_AISLE,
          entrance: false,
          atMs: c.at,
          dwellS: null,
          occupancy: count,
        });
        if (count > t.peakOccupancy) {
          t.peakOccupancy = count;
          t.peakAtMs = c.at;
        }
      }
      truth.push(t);
      byDay.set(day, events.slice(dayFirst));
    }
  }
  const promoFrom = addDays(o.start, o.promotionWeek * 7);
  return {
    events,
    byDay,
    truth,
    promotion: { from: promoFrom, to: addDays(promoFrom, 6), liftPct: o.promotionLift * 100 },
    spikeDays,
  };
}

/** Writes people events of one site as the people sink stores them (ClickHouse `people_events`). */
export async function insertPeopleEvents(
  ch: ClickHouseClient,
  tenantId: string,
  siteId: string,
  events: readonly PeopleEvent[],
): Promise<void> {
  const values = events.map((e) => ({
    tenant_id: tenantId,
    site_id: siteId,
    camera_id: e.cameraId,
    event_id: `${siteId}/${e.eventId}`,
    kind: e.kind,
    zone_id: e.zoneId,
    entrance: e.entrance ? 1 : 0,
    track_id: e.trackId,
    at: Math.floor(e.atMs / 1000),
    at_ms: e.atMs,
    dwell_s: e.dwellS,
    occupancy: e.occupancy,
  }));
  for (let i = 0; i < values.length; i += 20_000)
    await ch.insert({ table: 'people_events', values: values.slice(i, i + 20_000), format: 'JSONEachRow' });
}
