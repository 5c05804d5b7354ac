import { daysBetween, nextDay, weekday } from './local-day.ts';
import { median } from './people-metrics.ts';
import type { DayValue } from './spikes.ts';

/**
 * A promotion's lift on one metric, two ways, with the numbers behind each:
 * - against the equal-length period right before it (a 7-day promotion against the week before);
 * - against the same weekdays: each promotion day's expected value is the median of its weekday
 *   over the `weeks` weeks before the promotion started, so a weekend-heavy period is compared
 *   with weekends.
 * Missing days count as no data (left out of both sides), never as zero.
 */
export interface LiftFigures {
  /** Sum over the promotion's days that have data. */
  during: number;
  /** Sum over the comparison. */
  baseline: number;
  /** Percent; null when the baseline is 0 or either side has no data. */
  liftPct: number | null;
  days: number;
  baselineDays: number;
}

export interface PromotionLift {
  previousPeriod: LiftFigures & { from: string; to: string };
  sameWeekdays: LiftFigures & { weeks: number };
}

function pct(during: number, baseline: number, n: number, m: number): number | null {
  if (n === 0 || m === 0 || baseline === 0) return null;
  return ((during - baseline) / baseline) * 100;
}

export function promotionLift(
  series: readonly DayValue[],
  period: { from: string; to: string },
  weeks = 4,
): PromotionLift {
  const byDay = new Map(series.map((d) => [d.day, d.value]));
  const promoDays = daysBetween(period.from, period.to);
  const length = promoDays.length;
  const before = { from: nextDay(period.from, -length), to: nextDay(period.from, -1) };

  let during = 0;
  let n = 0;
  for (const d of promoDays) {
    const v = byDay.get(d);
    if (v === undefined) continue;
    during += v;
    n++;
  }
  let prev = 0;
  let m = 0;
  for (const d of daysBetween(before.from, before.to)) {
    const v = byDay.get(d);
    if (v === undefined) continue;
    prev += v;
    m++;
  }

  // Same weekdays: medians per weekday from the weeks before the promotion only.
  const history = new Map<number, number[]>();
  for (const d of daysBetween(nextDay(period.from, -7 * weeks), nextDay(period.from, -1))) {
    const v = byDay.get(d);
    if (v === undefined) continue;
    const list = history.get(weekday(d)) ?? [];
    list.push(v);
    history.set(weekday(d), list);
  }
  let wkDuring = 0;
  let expected = 0;
  let wkDays = 0;
  for (const d of promoDays) {
    const v = byDay.get(d);
    const med = median(history.get(weekday(d)) ?? []);
    if (v === undefined || med === null) continue;
    wkDuring += v;
    expected += med;
    wkDays++;
  }
  return {
    previousPeriod: {
      ...before,
      during,
      baseline: prev,
      liftPct: pct(during, prev, n, m),
      days: n,
      baselineDays: m,
    },
    sameWeekdays: {
      weeks,
      during: wkDuring,
      baseline: expected,
      liftPct: pct(wkDuring, expected, wkDays, wkDays),
      days: wkDays,
      baselineDays: wkDays,
    },
  };
}
