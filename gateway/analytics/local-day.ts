/**
 * Days and hours in a site's own time zone. A store's "Saturday" starts at its local midnight,
 * so a day is 23 or 25 hours long across a DST change, and an hour of the day is the local
 * wall-clock hour (the repeated hour of a fall-back night counts into the same hour slot).
 */
import { utcOffsetMs, wallClock } from '../../schemas/mod.ts';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The local calendar day of an instant, `YYYY-MM-DD`. */
export function localDay(ts: number, tz: string): string {
  const w = wallClock(ts, tz);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** The local wall-clock hour (0–23) of an instant. */
export function localHour(ts: number, tz: string): number {
  return wallClock(ts, tz).hour;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDay(day: string): [number, number, number] {
  const m = DAY.exec(day);
  if (!m) throw new RangeError(`not a day: '${day}'`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * The first instant of a local day. The UTC guess is corrected by the zone's offset at the
 * guess and then at the result, which settles within two steps even when the offset changes
 * that day; where midnight itself is skipped (a spring-forward at 00:00), the day starts at
 * the first instant that exists, the transition.
 */
export function dayStart(day: string, tz: string): number {
  const [y, m, d] = parseDay(day);
  const midnight = Date.UTC(y, m - 1, d);
  let ts = midnight - utcOffsetMs(midnight, tz);
  for (let i = 0; i < 3; i++) {
    const next = midnight - utcOffsetMs(ts, tz);
    if (next === ts) break;
    ts = next;
  }
  // A skipped midnight lands the guess inside the previous day: step to the day's first hour.
  while (localDay(ts, tz) < day) ts += 15 * 60_000;
  while (localDay(ts - 15 * 60_000, tz) === day) ts -= 15 * 60_000;
  return ts;
}

/** The next calendar day, `YYYY-MM-DD`. */
export function nextDay(day: string, n = 1): string {
  const [y, m, d] = parseDay(day);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** A local day as a half-open UTC interval [from, to): 23, 24 or 25 hours. */
export function dayWindow(day: string, tz: string): { from: number; to: number } {
  return { from: dayStart(day, tz), to: dayStart(nextDay(day), tz) };
}

/** ISO weekday of a calendar day: 1 = Monday … 7 = Sunday. */
export function weekday(day: string): number {
  const [y, m, d] = parseDay(day);
  return ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = nextDay(d)) out.push(d);
  return out;
}
