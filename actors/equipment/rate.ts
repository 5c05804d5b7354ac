/**
 * Rate of change of a metric over a sliding window, robust to a noisy reading. Samples are a
 * flat `[ts0, v0, ts1, v1, …]` array (compact in a snapshot), oldest first, thinned so that
 * at most about MAX_SAMPLES stay in a window whatever the reading rate. The slope is Theil–Sen
 * (median of the pairwise slopes): one outlier among n ≥ MIN_SAMPLES points touches n − 1 of
 * the n(n−1)/2 pairs, fewer than half, so it cannot move the median past the honest slopes —
 * a least-squares slope would follow the spike.
 */

export const MAX_SAMPLES = 24;
export const MIN_SAMPLES = 5;

/** `samples` with `(ts, value)` appended, those older than the window dropped, thinned. */
export function addSample(samples: readonly number[], ts: number, value: number, windowMs: number): number[] {
  const out: number[] = [];
  const from = ts - windowMs;
  const spacing = windowMs / MAX_SAMPLES;
  for (let i = 0; i < samples.length; i += 2) {
    const t = samples[i]!;
    if (t < from) continue;
    out.push(t, samples[i + 1]!);
  }
  // Thinning: the newest sample always stays; the one before it stays only if it is at least
  // `spacing` after its own predecessor, so kept samples spread over the whole window.
  const n = out.length;
  if (n >= 4 && out[n - 2]! - out[n - 4]! < spacing) out.length = n - 2;
  out.push(ts, value);
  return out;
}

/**
 * Units per minute, or null when the window holds too few samples, or they span less than
 * half the window, to say.
 */
export function slopePerMinute(samples: readonly number[], windowMs: number): number | null {
  const n = samples.length / 2;
  if (n < MIN_SAMPLES) return null;
  if (samples[samples.length - 2]! - samples[0]! < windowMs / 2) return null;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dt = samples[2 * j]! - samples[2 * i]!;
      if (dt > 0) slopes.push((samples[2 * j + 1]! - samples[2 * i + 1]!) / dt);
    }
  }
  if (slopes.length === 0) return null;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  const median = slopes.length % 2 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
  return median * 60_000;
}
