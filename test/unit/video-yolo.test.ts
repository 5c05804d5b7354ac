import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeYolo,
  letterbox,
  nms,
  toFrame,
  YoloShapeError,
  yoloOutputShape,
} from '../../actors/video/mod.ts';

/**
 * Builds a [1, 4+classes, anchors] output from per-anchor rows [cx, cy, w, h, ...scores]; the
 * remaining anchors (up to 200, as a real export has thousands) are empty.
 */
function output(classes: number, rows: number[][]): { data: Float32Array; dims: number[] } {
  const anchors = Math.max(200, rows.length);
  const data = new Float32Array((4 + classes) * anchors);
  rows.forEach((row, a) => row.forEach((v, c) => (data[c * anchors + a] = v)));
  return { data, dims: [1, 4 + classes, anchors] };
}

describe('YOLOv8 output decoding', () => {
  test('one class: boxes above the confidence threshold, corners from centre and size', () => {
    const { data, dims } = output(1, [
      [100, 50, 20, 40, 0.9],
      [300, 300, 10, 10, 0.2],
    ]);
    const dets = decodeYolo(data, dims, { confidence: 0.25, iou: 0.5 });
    assert.deepEqual(dets, [{ x1: 90, y1: 30, x2: 110, y2: 70, score: Math.fround(0.9), cls: 0 }]);
  });

  test('80 classes: the best class wins, and a class filter keeps only people (class 0)', () => {
    const person = [10, 10, 4, 4, 0.7, ...new Array(79).fill(0)];
    const car = [50, 50, 4, 4, 0.1, 0.95, ...new Array(78).fill(0)];
    const { data, dims } = output(80, [person, car]);
    const all = decodeYolo(data, dims, { confidence: 0.5, iou: 0.5 });
    assert.deepEqual(
      all.map((d) => [d.cls, d.score]),
      [
        [1, Math.fround(0.95)],
        [0, Math.fround(0.7)],
      ],
    );
    const people = decodeYolo(data, dims, { confidence: 0.5, iou: 0.5, classes: [0] });
    assert.deepEqual(
      people.map((d) => d.cls),
      [0],
    );
  });

  test('NMS keeps the best of overlapping boxes per class, not across classes', () => {
    const kept = nms(
      [
        { x1: 0, y1: 0, x2: 10, y2: 10, score: 0.8, cls: 0 },
        { x1: 1, y1: 1, x2: 11, y2: 11, score: 0.9, cls: 0 },
        { x1: 1, y1: 1, x2: 11, y2: 11, score: 0.5, cls: 2 },
        { x1: 50, y1: 50, x2: 60, y2: 60, score: 0.4, cls: 0 },
      ],
      0.5,
    );
    assert.deepEqual(
      kept.map((d) => [d.score, d.cls]),
      [
        [0.9, 0],
        [0.5, 2],
        [0.4, 0],
      ],
    );
  });

  test('boxes with no area are ignored', () => {
    const { data, dims } = output(1, [[10, 10, 0, 5, 0.99]]);
    assert.deepEqual(decodeYolo(data, dims, { confidence: 0.1, iou: 0.5 }), []);
  });

  for (const [name, dims] of [
    ['rank 2', [84, 8400]],
    ['batch of 2', [2, 84, 8400]],
    ['no class row', [1, 4, 8400]],
    ['anchors first (transposed export)', [1, 8400, 84]],
  ] as const) {
    test(`output shape rejected: ${name}`, () => {
      assert.throws(() => yoloOutputShape(dims), YoloShapeError);
    });
  }

  test('accepted output shape gives classes and anchors', () => {
    assert.deepEqual(yoloOutputShape([1, 84, 8400]), [80, 8400]);
  });
});

describe('letterbox geometry', () => {
  test('a 640×360 frame into 320: half scale, 70 px bands above and below', () => {
    const lb = letterbox(640, 360, 320);
    assert.deepEqual(
      { s: lb.scale, w: lb.scaledWidth, h: lb.scaledHeight, x: lb.padX, y: lb.padY },
      { s: 0.5, w: 320, h: 180, x: 0, y: 70 },
    );
  });

  test('a model-input box maps back onto the frame, normalised and clamped', () => {
    const lb = letterbox(640, 360, 320);
    assert.deepEqual(toFrame(lb, 80, 70, 160, 160), { x1: 0.25, y1: 0, x2: 0.5, y2: 0.5 });
    assert.deepEqual(toFrame(lb, -10, 0, 400, 300), { x1: 0, y1: 0, x2: 1, y2: 1 });
  });

  test('portrait frames pad left and right', () => {
    const lb = letterbox(360, 640, 640);
    assert.deepEqual([lb.scaledWidth, lb.scaledHeight, lb.padX, lb.padY], [360, 640, 140, 0]);
  });
});
