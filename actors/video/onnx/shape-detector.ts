import { GraphBuilder } from './graph.ts';

/**
 * The project's own person detector: a fixed graph (no training, no weights to fetch) with the
 * Ultralytics YOLOv8 contract — input `images` [1,3,S,S] float32 RGB 0..1 letterboxed, output
 * `output0` [1, 4+1, anchors] of (cx, cy, w, h, person score) in input pixels.
 *
 * What it detects: the synthetic scenes' people, solid upright shapes in one of three saturated
 * shirt colours (red, green, blue) on an unsaturated scene. Per colour it thresholds a colour
 * score on a 160×160 cell grid, then measures for every cell how far the shape runs left,
 * right, up and down — each a single max-pool over a whole row or column of "index where the
 * shape stops" — which gives that cell's box. A cell's score is how central it sits in its box
 * (FCOS-style centredness), so the middle of each shape wins non-maximum suppression. A person
 * partly hidden behind another of a different colour still yields a box for the visible part,
 * as a learned detector would.
 */
export interface ShapeDetectorOptions {
  /** Square input side in pixels; a multiple of 160 (160, 320, 480, 640). */
  inputSize?: number;
}

export const SHAPE_COLOURS = ['red', 'green', 'blue'] as const;
export const DETECTOR_GRID = 160;
/** Colour score 2·own − others must exceed this for a cell to count as a person. */
const SCORE_FLOOR = 0.8;
const SCORE_GAIN = 5;

export function buildShapeDetector(opts: ShapeDetectorOptions = {}): Uint8Array {
  const size = opts.inputSize ?? 640;
  const G = DETECTOR_GRID;
  if (size < G || size % G !== 0) throw new RangeError(`inputSize must be a multiple of ${G}, got ${size}`);
  const cell = size / G;
  const g = new GraphBuilder('vigil-shape-detector');
  const images = g.input('images', [1, 3, size, size]);

  // Colour scores per shirt colour: 2·C − (sum of the other two), as a 1×1 convolution.
  const w = [2, -1, -1, -1, 2, -1, -1, -1, 2];
  const colour = g.op('Conv', [images, g.floats([3, 3, 1, 1], w), g.floats([3], [0, 0, 0])]);
  const pooled =
    cell > 1 ? g.op('AveragePool', [colour], { kernel_shape: [cell, cell], strides: [cell, cell] }) : colour;
  const raw = g.op('Mul', [g.op('Sub', [pooled, g.scalar(SCORE_FLOOR)]), g.scalar(SCORE_GAIN)]);
  const mask = g.op('Clip', [raw, g.scalar(0), g.scalar(1)]);
  const gap = g.op('Sub', [g.scalar(1), mask]);

  const ascending = Array.from({ length: G }, (_, i) => i + 1);
  const descending = Array.from({ length: G }, (_, i) => G - i);
  // A running maximum over a whole row (or column) by doubling: after step k every cell holds
  // the maximum of the 2^k cells behind it, so log2(G) shift-and-max steps cover the row.
  // Shifted-in cells are zeros, neutral here because every operand is ≥ 0.
  const runningMax = (t: string, axis: 'x' | 'y', backwards: boolean): string => {
    const a = axis === 'x' ? 3 : 2;
    let acc = t;
    for (let span = 1; span < G; span *= 2) {
      const kept = backwards
        ? g.op('Slice', [acc, g.ints([span]), g.ints([G]), g.ints([a])])
        : g.op('Slice', [acc, g.ints([0]), g.ints([G - span]), g.ints([a])]);
      const pads = [0, 0, 0, 0, 0, 0, 0, 0];
      pads[backwards ? a + 4 : a] = span;
      acc = g.op('Max', [acc, g.op('Pad', [kept, g.ints(pads), g.scalar(0)])]);
    }
    return acc;
  };
  const run = (index: number[], axis: 'x' | 'y', backwards: boolean): string => {
    const idx = g.floats(axis === 'x' ? [1, 1, 1, G] : [1, 1, G, 1], index);
    return g.op('Sub', [idx, runningMax(g.op('Mul', [gap, idx]), axis, backwards)]);
  };
  // Cells of the shape from the cell itself to the nearest gap, in each direction: the index
  // where the shape stops is the running maximum of "gap × index".
  const left = run(ascending, 'x', false);
  const right = run(descending, 'x', true);
  const up = run(ascending, 'y', false);
  const down = run(descending, 'y', true);

  const half = g.scalar(0.5);
  const cellSize = g.scalar(cell);
  const centre = (runBefore: string, runAfter: string, dims: number[]): string => {
    const pos = g.floats(
      dims,
      Array.from({ length: G }, (_, i) => i + 0.5),
    );
    const shift = g.op('Mul', [g.op('Sub', [runAfter, runBefore]), half]);
    return g.op('Mul', [g.op('Add', [pos, shift]), cellSize]);
  };
  const extent = (a: string, b: string): string =>
    g.op('Mul', [g.op('Relu', [g.op('Sub', [g.op('Add', [a, b]), g.scalar(1)])]), cellSize]);
  const balance = (a: string, b: string): string =>
    g.op('Div', [g.op('Min', [a, b]), g.op('Max', [g.op('Max', [a, b]), g.scalar(1e-3)])]);

  const cx = centre(left, right, [1, 1, 1, G]);
  const cy = centre(up, down, [1, 1, G, 1]);
  const bw = extent(left, right);
  const bh = extent(up, down);
  const score = g.op('Mul', [mask, g.op('Mul', [balance(left, right), balance(up, down)])]);

  const anchors = SHAPE_COLOURS.length * G * G;
  const flat = g.ints([1, 1, anchors]);
  const rows = [cx, cy, bw, bh, score].map((t) => g.op('Reshape', [t, flat]));
  g.op('Concat', rows, { axis: 1 }, 'output0');
  g.output('output0', [1, 5, anchors]);
  return g.build('Vigil synthetic-scene person detector (YOLOv8 output contract)');
}
