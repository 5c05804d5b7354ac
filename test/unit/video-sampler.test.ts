import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffMs, FrameSampler } from '../../actors/video/mod.ts';

const times = (fps: number, seconds: number): number[] =>
  Array.from({ length: Math.round(fps * seconds) }, (_, i) => i / fps);

describe('frame sampler', () => {
  test('10 fps source at detect 5 fps keeps every other frame', () => {
    const s = new FrameSampler(5);
    const kept = times(10, 2).filter((t) => s.accept(t));
    assert.deepEqual(
      kept.map((t) => Math.round(t * 10) / 10),
      [0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8],
    );
  });

  test('30 fps with jitter at detect 5 fps keeps 5 per second, never two in a row', () => {
    const s = new FrameSampler(5);
    const jittered = times(30, 10).map((t, i) => t + (i % 2 ? 0.004 : -0.004));
    const kept = jittered.filter((t) => s.accept(Math.max(0, t)));
    assert.equal(kept.length, 50);
  });

  test('detect rate above the source rate keeps every frame', () => {
    const s = new FrameSampler(30);
    assert.equal(times(10, 3).filter((t) => s.accept(t)).length, 30);
  });

  test('timestamps going backwards (a restarted stream) start over', () => {
    const s = new FrameSampler(5);
    assert.equal(s.accept(5), true);
    assert.equal(s.accept(0), true);
    assert.equal(s.accept(0.1), false);
    assert.equal(s.accept(0.2), true);
  });

  test('a non-positive rate is refused', () => {
    assert.throws(() => new FrameSampler(0), RangeError);
  });
});

describe('reconnect backoff', () => {
  test('doubles from the base, capped, jitter ±25%', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((a) => backoffMs(a, 0.5, 500, 15_000)),
      [500, 1000, 2000, 4000, 15_000],
    );
    assert.equal(backoffMs(0, 0, 1000), 750);
    assert.equal(backoffMs(0, 1, 1000), 1250);
  });
});
