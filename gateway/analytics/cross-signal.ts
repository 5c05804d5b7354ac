/**
 * The cross-signal only Vigil has: a cooler's door readings joined with people in the product
 * zone in front of it. A door-open episode is attended when someone was in the zone during it
 * (restocking, a shopper taking a product), unattended when the door stood open with no one
 * there. A maintenance record is verified when someone was at the unit during its window and
 * the temperature came back into the setpoint band within T minutes after it. Pure.
 */
import { ATTENDED_SLACK_MS } from '../../schemas/mod.ts';

export interface DoorReading {
  ts: number;
  open: boolean;
}

export interface Interval {
  from: number;
  to: number;
}

export interface DoorEpisode extends Interval {
  /** Still open at the last reading. */
  open: boolean;
}

export interface LabelledEpisode extends DoorEpisode {
  attended: boolean;
}

/** Door-open episodes from readings in any order: opened at the first open, closed at the first closed after it. */
export function doorEpisodes(readings: readonly DoorReading[]): DoorEpisode[] {
  const sorted = [...readings].sort((a, b) => a.ts - b.ts);
  const out: DoorEpisode[] = [];
  let openedAt: number | null = null;
  for (const r of sorted) {
    if (r.open && openedAt === null) openedAt = r.ts;
    else if (!r.open && openedAt !== null) {
      out.push({ from: openedAt, to: r.ts, open: false });
      openedAt = null;
    }
  }
  const last = sorted.at(-1);
  if (openedAt !== null && last) out.push({ from: openedAt, to: last.ts, open: true });
  return out;
}

/** Presence in a zone from zone exits (exit time minus dwell) and still-open entries. */
export function presenceIntervals(
  events: ReadonlyArray<{ kind: string; trackId: number | null; atMs: number; dwellS: number | null }>,
  until: number,
): Interval[] {
  const open = new Map<number, number>();
  const out: Interval[] = [];
  for (const e of [...events].sort((a, b) => a.atMs - b.atMs)) {
    if (e.kind === 'zone_entry' && e.trackId !== null) open.set(e.trackId, e.atMs);
    else if (e.kind === 'zone_exit') {
      const from = e.dwellS !== null ? e.atMs - e.dwellS * 1000 : (open.get(e.trackId ?? -1) ?? e.atMs);
      out.push({ from, to: e.atMs });
      if (e.trackId !== null) open.delete(e.trackId);
    }
  }
  for (const from of open.values()) out.push({ from, to: until });
  return out;
}

const overlaps = (a: Interval, b: Interval, slackMs: number) =>
  a.from <= b.to + slackMs && b.from <= a.to + slackMs;

/**
 * Attended when a presence interval overlaps the episode, widened by `slackMs` on both sides
 * (a person who stepped away a moment before the door swung shut still counts).
 */
export function labelEpisodes(
  episodes: readonly DoorEpisode[],
  presence: readonly Interval[],
  slackMs = ATTENDED_SLACK_MS,
): LabelledEpisode[] {
  return episodes.map((e) => ({ ...e, attended: presence.some((p) => overlaps(e, p, slackMs)) }));
}

export interface MaintenanceCheck {
  verified: boolean;
  personPresent: boolean;
  /** First reading back inside the band after the window, within T minutes; null if none. */
  recoveredAt: number | null;
}

export function verifyMaintenance(input: {
  window: Interval;
  presence: readonly Interval[];
  temperatures: ReadonlyArray<{ ts: number; value: number }>;
  band: { low: number; high: number };
  recoveryMinutes: number;
}): MaintenanceCheck {
  const { window, band } = input;
  const personPresent = input.presence.some((p) => overlaps(window, p, 0));
  const deadline = window.to + input.recoveryMinutes * 60_000;
  const recovered = [...input.temperatures]
    .sort((a, b) => a.ts - b.ts)
    .find((r) => r.ts >= window.to && r.ts <= deadline && r.value >= band.low && r.value <= band.high);
  const recoveredAt = recovered?.ts ?? null;
  return { verified: personPresent && recoveredAt !== null, personPresent, recoveredAt };
}
