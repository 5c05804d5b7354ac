import { nextDay } from './local-day.ts';
import { median } from './people-metrics.ts';

/**
 * Spikes: a day against the same weekday of the trailing weeks. Median and MAD (scaled to a
 * standard deviation) make the baseline robust — one earlier spike or promotion in the window
 * moves neither much — and the band is `k` scaled MADs wide, never narrower than a floor so a
 * perfectly regular series does not flag a 1 % wobble.
 */
export interface SpikeOptions {
  /** Same-weekday values looked back at. */
  weeks: number;
  /** Fewer history values than this: no baseline, no verdict. */
  minWeeks: number;
  /** Band half-width in scaled MADs. */
  k: number;
  /** Band half-width never below this share of the baseline. */
  minBandShare: number;
}

export const DEFAULT_SPIKES: SpikeOptions = { weeks: 4, minWeeks: 3, k: 3, minBandShare: 0.05 };

/** Consistency constant: a MAD times this estimates a normal distribution's σ. */
const MAD_SIGMA = 1.4826;

export interface DayValue {
  day: string;
  value: number;
}

export interface SpikeVerdict {
  day: string;
  value: number;
  baseline: number;
  mad: number;
  low: number;
  high: number;
  /** Percent above (or below) the baseline; null when the baseline is 0. */
  liftPct: number | null;
  spike: boolean;
  /** Same-weekday values the baseline was taken from, oldest first. */
  history: number[];
}

/** Verdicts for every day with enough history; days without it are left out. */
export function findSpikes(
  series: readonly DayValue[],
  options: SpikeOptions = DEFAULT_SPIKES,
): SpikeVerdict[] {
  const byDay = new Map(series.map((d) => [d.day, d.value]));
  const out: SpikeVerdict[] = [];
  for (const { day, value } of [...series].sort((a, b) => a.day.localeCompare(b.day))) {
    const history: number[] = [];
    for (let w = options.weeks; w >= 1; w--) {
      const v = byDay.get(nextDay(day, -7 * w));
      if (v !== undefined) history.push(v);
    }
    if (history.length < options.minWeeks) continue;
    const baseline = median(history)!;
    const mad = median(history.map((v) => Math.abs(v - baseline)))!;
    const half = Math.max(options.k * MAD_SIGMA * mad, options.minBandShare * Math.abs(baseline));
    const low = baseline - half;
    const high = baseline + half;
    out.push({
      day,
      value,
      baseline,
      mad,
      low,
      high,
      liftPct: baseline === 0 ? null : ((value - baseline) / baseline) * 100,
      spike: value < low || value > high,
      history,
    });
  }
  return out;
}
