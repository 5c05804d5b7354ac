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

/** Pairwise slopes of the largest window: MAX_SAMPLES points, plus a few a thinning step leaves. */
const scratch = new Float64Array(((MAX_SAMPLES + 2) * (MAX_SAMPLES + 1)) / 2);

/**
 * The k-th smallest (0-based) of `a[0..n)`, rearranging them (Hoare's selection): the median
 * without sorting all n(n−1)/2 slopes — the rate rule runs it on every reading of every unit.
 */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * Units per minute, or null when the window holds too few samples, or they span less than
 * half the window, to say.
 */
export function slopePerMinute(samples: readonly number[], windowMs: number): number | null {
  const n = samples.length / 2;
  if (n < MIN_SAMPLES) return null;
  if (samples[samples.length - 2]! - samples[0]! < windowMs / 2) return null;
  const slopes = n * (n - 1) <= 2 * scratch.length ? scratch : new Float64Array((n * (n - 1)) / 2);
  let m = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dt = samples[2 * j]! - samples[2 * i]!;
      if (dt > 0) slopes[m++] = (samples[2 * j + 1]! - samples[2 * i + 1]!) / dt;
    }
  }
  if (m === 0) return null;
  const mid = m >> 1;
  const upper = select(slopes, m, mid);
  if (m % 2) return upper * 60_000;
  // Selection left everything below `mid` at or under it: the lower middle is their largest.
  let lower = slopes[0]!;
  for (let i = 1; i < mid; i++) if (slopes[i]! > lower) lower = slopes[i]!;
  return ((lower + upper) / 2) * 60_000;
}
