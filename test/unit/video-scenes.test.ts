import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groundTruth, renderFrame, SCENES, SHIRT_RGB } from '../../actors/video/mod.ts';

describe('synthetic scenes: ground truth', () => {
  test('people are present between their first and last keyframe only', () => {
    const s = SCENES['walk-through'];
    assert.deepEqual(groundTruth(s, 0).length, 0);
    assert.deepEqual(
      groundTruth(s, 4).map((g) => g.id),
      [1, 2],
    );
  });

  test('the nearer person hides the one behind: visible share drops while they overlap', () => {
    const s = SCENES.occlusion;
    // The walker (id 2) passes behind the standing person (id 1, nearer the camera) at x = 320.
    const passing = groundTruth(s, 5).find((g) => g.id === 2)!;
    const standing = groundTruth(s, 5).find((g) => g.id === 1)!;
    assert.ok(passing.visible < 0.35, `walker still ${passing.visible.toFixed(2)} visible`);
    assert.equal(standing.visible, 1);
    assert.equal(groundTruth(s, 2).find((g) => g.id === 2)!.visible, 1);
  });

  test('boxes are clipped to the frame as a person walks in', () => {
    const s = SCENES.crossing;
    const red = groundTruth(s, 0.8).find((g) => g.id === 1)!;
    assert.equal(red.x1, 0);
    assert.ok(red.x2 > 0 && red.x2 < 36);
  });

  test('the renderer paints each person in their shirt colour at their box', () => {
    const s = SCENES.shelf;
    const frame = renderFrame(s, 6);
    const blue = groundTruth(s, 6).find((g) => g.id === 1)!;
    const x = Math.round((blue.x1 + blue.x2) / 2);
    const y = Math.round(blue.y2 - 10);
    const o = (y * s.width + x) * 3;
    assert.deepEqual([frame[o], frame[o + 1], frame[o + 2]], [...SHIRT_RGB.blue]);
  });
});
