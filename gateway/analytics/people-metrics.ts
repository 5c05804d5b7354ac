import { dayWindow, localHour } from './local-day.ts';

/**
 * Daily people metrics of one site, from the camera actors' events as the people sink stores
 * them in ClickHouse (`people_events`). Pure: the same function turns a day's rows into the
 * `metrics_daily` rows, so a recompute after late events gives the same answer as the first.
 */
export type PeopleEventKind =
  'entry' | 'exit' | 'zone_entry' | 'zone_exit' | 'product_interaction' | 'occupancy' | 'online' | 'offline';

export interface PeopleEvent {
  /** The sink's idempotency key: a redelivered event counts once. */
  eventId: string;
  cameraId: string;
  zoneId: string;
  kind: PeopleEventKind | string;
  /** The line zone is the site's door: its `entry` crossings are footfall. */
  entrance: boolean;
  trackId: number | null;
  atMs: number;
  dwellS: number | null;
  occupancy: number | null;
}

export type MetricsScope = 'site' | 'camera' | 'zone';

export interface DailyMetrics {
  scope: MetricsScope;
  cameraId: string | null;
  zoneId: string | null;
  day: string;
  /** Entrance-line `entry` crossings. */
  footfall: number;
  /** Distinct tracks seen (per camera): an estimate, a person lost and found again counts twice. */
  uniqueVisitorsEstimate: number;
  zoneEntries: number;
  /** Over zone exits (areas and product zones), seconds; null without any exit. */
  dwellAvgS: number | null;
  dwellMedianS: number | null;
  interactions: number;
  peakOccupancy: number | null;
  /** First instant the peak was reached (epoch ms). */
  peakAtMs: number | null;
  /** Arrivals per local hour 0–23: footfall at site and camera scope, zone entries at a zone. */
  hourly: number[];
}

/** Code-unit order: stable across locales (and far cheaper than localeCompare). */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const QUARTER_MS = 15 * 60_000;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

class Accumulator {
  footfall = 0;
  zoneEntries = 0;
  interactions = 0;
  readonly tracks = new Set<string>();
  readonly dwells: number[] = [];
  peak: number | null = null;
  peakAt: number | null = null;
  readonly hourly = new Array<number>(24).fill(0);

  constructor(
    readonly scope: MetricsScope,
    readonly cameraId: string | null,
    readonly zoneId: string | null,
  ) {}

  add(e: PeopleEvent, hour: number): void {
    if (e.trackId !== null) this.tracks.add(`${e.cameraId}/${e.trackId}`);
    switch (e.kind) {
      case 'entry':
        if (e.entrance) {
          this.footfall++;
          if (this.scope !== 'zone') this.hourly[hour]!++;
        }
        if (this.scope === 'zone') this.hourly[hour]!++;
        break;
      case 'zone_entry':
        this.zoneEntries++;
        if (this.scope === 'zone') this.hourly[hour]!++;
        break;
      case 'zone_exit':
        if (e.dwellS !== null) this.dwells.push(e.dwellS);
        break;
      case 'product_interaction':
        this.interactions++;
        break;
      case 'occupancy':
        if (e.occupancy !== null && (this.peak === null || e.occupancy > this.peak)) {
          this.peak = e.occupancy;
          this.peakAt = e.atMs;
        }
        break;
      default:
        break;
    }
  }

  result(day: string): DailyMetrics {
    const avg = this.dwells.length ? this.dwells.reduce((a, b) => a + b, 0) / this.dwells.length : null;
    return {
      scope: this.scope,
      cameraId: this.cameraId,
      zoneId: this.zoneId,
      day,
      footfall: this.footfall,
      uniqueVisitorsEstimate: this.tracks.size,
      zoneEntries: this.zoneEntries,
      dwellAvgS: avg,
      dwellMedianS: median(this.dwells),
      interactions: this.interactions,
      peakOccupancy: this.peak,
      peakAtMs: this.peakAt,
      hourly: [...this.hourly],
    };
  }
}

/**
 * One local day's metrics for a site: the site row, one row per camera and one per zone seen.
 * Events outside the day's window are ignored (the caller may over-fetch); duplicates by
 * event id count once. Occupancy peaks at site and camera scope are the busiest zone's peak —
 * zones may overlap, so their counts do not add up to people in the store.
 */
export function dailyMetrics(events: readonly PeopleEvent[], day: string, tz: string): DailyMetrics[] {
  const { from, to } = dayWindow(day, tz);
  const seen = new Set<string>();
  const site = new Accumulator('site', null, null);
  const cameras = new Map<string, Accumulator>();
  const zones = new Map<string, Accumulator>();
  const ordered = events
    .filter((e) => e.atMs >= from && e.atMs < to)
    .sort((a, b) => a.atMs - b.atMs || cmp(a.eventId, b.eventId));
  // Zone offsets are whole quarter hours, so the local hour is constant within a UTC quarter.
  const hours = new Map<number, number>();
  const hourOf = (ts: number) => {
    const q = Math.floor(ts / QUARTER_MS);
    let h = hours.get(q);
    if (h === undefined) hours.set(q, (h = localHour(q * QUARTER_MS, tz)));
    return h;
  };
  for (const e of ordered) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const hour = hourOf(e.atMs);
    site.add(e, hour);
    let cam = cameras.get(e.cameraId);
    if (!cam) cameras.set(e.cameraId, (cam = new Accumulator('camera', e.cameraId, null)));
    cam.add(e, hour);
    if (!e.zoneId) continue;
    const key = `${e.cameraId}/${e.zoneId}`;
    let zone = zones.get(key);
    if (!zone) zones.set(key, (zone = new Accumulator('zone', e.cameraId, e.zoneId)));
    zone.add(e, hour);
  }
  const byId = (a: Accumulator, b: Accumulator) =>
    cmp(a.cameraId ?? '', b.cameraId ?? '') || cmp(a.zoneId ?? '', b.zoneId ?? '');
  return [site, ...[...cameras.values()].sort(byId), ...[...zones.values()].sort(byId)].map((a) =>
    a.result(day),
  );
}
