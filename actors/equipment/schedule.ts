import { utcOffsetMs, type RuleSchedule, type Weekday } from '../../schemas/mod.ts';

/**
 * When a rule with an active schedule applies, in the site's time zone. Pure: wall-clock
 * arithmetic through Intl (the tz database), no clock. Windows are local `from`–`to` on the
 * listed days; `to` at or before `from` runs past midnight into the next day. DST is the tz
 * database's business: a window "08:00–20:00" is 08:00–20:00 local on both sides of a change,
 * so its UTC instants move by the offset.
 */

const DAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_MS = 86_400_000;

const offsetAt = utcOffsetMs;

/**
 * The instant of local wall time `localMs` (a local date-time written as if it were UTC). A
 * time inside a spring-forward gap lands just after the gap; an ambiguous one (fall back)
 * takes the instant under the later offset.
 */
function fromLocal(localMs: number, timeZone: string): number {
  const guess = localMs - offsetAt(localMs, timeZone);
  return localMs - offsetAt(guess, timeZone);
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** Active intervals `[start, end)` (epoch ms) of local days from `t`'s day − 1 to + 7. */
function intervalsAround(schedule: RuleSchedule, timeZone: string, t: number): Array<[number, number]> {
  const localMidnight = Math.floor((t + offsetAt(t, timeZone)) / DAY_MS) * DAY_MS;
  const out: Array<[number, number]> = [];
  for (let d = -1; d <= 7; d++) {
    const day = localMidnight + d * DAY_MS;
    const weekday = DAYS[new Date(day).getUTCDay()]!;
    for (const w of schedule.windows) {
      if (!w.days.includes(weekday)) continue;
      const from = minutesOf(w.from);
      const to = minutesOf(w.to);
      const start = fromLocal(day + from * 60_000, timeZone);
      const end = fromLocal(day + (to <= from ? DAY_MS : 0) + to * 60_000, timeZone);
      if (end > start) out.push([start, end]);
    }
  }
  return out;
}

interface Cached {
  lo: number;
  hi: number;
  intervals: Array<[number, number]>;
}

/**
 * Intervals per schedule object and time zone, valid for the local day they were computed
 * from: readings of one unit come in order, so nearly every lookup is a hit. Keyed by the rule's
 * own params object, which lives as long as the rule set it came from and is shared by every
 * unit the rule applies to — a tenant-wide rule over sites in several zones keeps one entry per
 * zone.
 */
const cache = new WeakMap<RuleSchedule, Map<string, Cached>>();

function intervals(schedule: RuleSchedule, timeZone: string, t: number): Array<[number, number]> {
  let zones = cache.get(schedule);
  const c = zones?.get(timeZone);
  if (c && t >= c.lo && t < c.hi) return c.intervals;
  const list = intervalsAround(schedule, timeZone, t);
  if (!zones) cache.set(schedule, (zones = new Map()));
  // The list spans the day before to a week after; half a day either side is safely inside.
  zones.set(timeZone, { lo: t - 12 * 3_600_000, hi: t + 12 * 3_600_000, intervals: list });
  return list;
}

export interface ScheduleAt {
  active: boolean;
  /** Start of the active interval containing `t` (when active). */
  since: number | null;
  /** The next instant the answer changes, or null when the schedule never changes within a week. */
  next: number | null;
}

/** Whether the schedule is active at `t`, since when, and until when the answer holds. */
export function scheduleAt(schedule: RuleSchedule, timeZone: string, t: number): ScheduleAt {
  let since: number | null = null;
  let end: number | null = null;
  let nextStart: number | null = null;
  for (const [s, e] of intervals(schedule, timeZone, t)) {
    if (s <= t && t < e) {
      // Overlapping or touching windows: the active stretch runs to the latest end among them.
      since = since === null ? s : Math.min(since, s);
      end = end === null ? e : Math.max(end, e);
    } else if (s > t && (nextStart === null || s < nextStart)) nextStart = s;
  }
  if (since !== null) return { active: true, since, next: end };
  return { active: false, since: null, next: nextStart };
}
