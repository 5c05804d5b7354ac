import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SAMPLES, slopePerMinute } from '../../actors/equipment/mod.ts';

/** The definition: median of every pairwise slope, by sorting them all. */
function theilSen(samples: number[]): number | null {
  const slopes: number[] = [];
  for (let i = 0; i < samples.length; i += 2)
    for (let j = i + 2; j < samples.length; j += 2) {
      const dt = samples[j]! - samples[i]!;
      if (dt > 0) slopes.push((samples[j + 1]! - samples[i + 1]!) / dt);
    }
  if (slopes.length === 0) return null;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return (slopes.length % 2 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2) * 60_000;
}

/** Deterministic pseudo-random numbers (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the selected median equals the sorted one: odd and even slope counts, ties, spikes, repeated times', () => {
  const next = random(7);
  const windowMs = 60_000;
  for (let c = 0; c < 2000; c++) {
    const n = 5 + Math.floor(next() * (MAX_SAMPLES + 2 - 5 + 1));
    const samples: number[] = [];
    let ts = 0;
    for (let i = 0; i < n; i++) {
      // Some equal timestamps (no slope for that pair), coarse values (tied slopes), a spike.
      ts += next() < 0.1 ? 0 : Math.ceil(next() * (windowMs / n) * 2);
      const v = next() < 0.05 ? 1e6 * (next() - 0.5) : Math.round(next() * 8) / 2;
      samples.push(ts, v);
    }
    if (samples[samples.length - 2]! - samples[0]! < windowMs / 2) samples[samples.length - 2] = windowMs;
    assert.equal(slopePerMinute(samples, windowMs), theilSen(samples), `case ${c}: ${samples.join(',')}`);
  }
});

test('too few samples, or too short a span, say nothing', () => {
  assert.equal(slopePerMinute([0, 1, 1000, 2, 2000, 3, 3000, 4], 60_000), null);
  assert.equal(slopePerMinute([0, 1, 1000, 2, 2000, 3, 3000, 4, 4000, 5], 60_000), null);
  assert.equal(slopePerMinute([0, 1, 10_000, 2, 20_000, 3, 30_000, 4, 40_000, 5], 60_000), 6);
});
