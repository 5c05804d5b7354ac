import { GraphBuilder } from './graph.ts';

/**
 * The Ultralytics YOLOv8 network, layer for layer, with random weights: a model with the real
 * detector's structure, operator mix and FLOPs, for timing the pipeline against what users
 * actually deploy. Nothing is trained or downloaded; its detections mean nothing.
 *
 * It mirrors an `ultralytics export format=onnx` graph: convolutions with batch norm folded in
 * (a bias), SiLU as Sigmoid·Mul, C2f blocks as Split → bottlenecks → Concat, SPPF, nearest
 * upsampling, and the decoupled Detect head with its distribution focal loss decoding (softmax
 * over 16 bins and a fixed 1×1 convolution), anchors and strides baked in as constants, output
 * `output0` [1, 4 + classes, anchors].
 */
export interface YoloArchitectureOptions {
  /** Square input side, a multiple of 32. */
  inputSize?: number;
  classes?: number;
  /** Model scale: depth and width multipliers from Ultralytics' yolov8.yaml. */
  scale?: YoloScale;
  /** Seed of the weights, so a run is repeatable. */
  seed?: number;
}

export type YoloScale = 'n' | 's' | 'm';

const SCALES: Record<YoloScale, { depth: number; width: number; maxChannels: number }> = {
  n: { depth: 0.33, width: 0.25, maxChannels: 1024 },
  s: { depth: 0.33, width: 0.5, maxChannels: 1024 },
  m: { depth: 0.67, width: 0.75, maxChannels: 768 },
};

const REG_MAX = 16;
const STRIDES = [8, 16, 32] as const;

export interface YoloArchitecture {
  model: Uint8Array;
  /** Learnable parameters (weights and folded biases). */
  params: number;
  /** Floating-point operations of one inference, 2 × multiply-accumulates of the convolutions (Ultralytics' count). */
  flops: number;
  anchors: number;
}

/** xorshift32: uniform 0..1 from a seed, so the same seed builds the same bytes. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export function buildYoloArchitecture(opts: YoloArchitectureOptions = {}): YoloArchitecture {
  const size = opts.inputSize ?? 640;
  const classes = opts.classes ?? 80;
  const { depth, width, maxChannels } = SCALES[opts.scale ?? 'n'];
  if (size < 32 || size % 32 !== 0) throw new RangeError(`inputSize must be a multiple of 32, got ${size}`);
  if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`classes must be ≥ 1, got ${classes}`);
  const rand = random(opts.seed ?? 8);
  const ch = (c: number): number => Math.ceil((Math.min(c, maxChannels) * width) / 8) * 8;
  const reps = (n: number): number => Math.max(Math.round(n * depth), 1);

  const g = new GraphBuilder('yolov8-architecture');
  let params = 0;
  let macs = 0;

  // He-scaled uniform weights keep activations of order one through the network: values that
  // decayed towards denormals would make a CPU slower than the real model, and timing is the point.
  const conv2d = (
    x: string,
    hw: number,
    c1: number,
    c2: number,
    k: number,
    s: number,
    bias: number | null = null,
  ): { out: string; hw: number } => {
    const fanIn = c1 * k * k;
    const bound = Math.sqrt(6 / fanIn);
    const w = new Float32Array(c2 * fanIn);
    for (let i = 0; i < w.length; i++) w[i] = (rand() * 2 - 1) * bound;
    const b = new Float32Array(c2);
    for (let i = 0; i < c2; i++) b[i] = bias ?? (rand() * 2 - 1) * 0.1;
    const out = Math.floor((hw + 2 * Math.floor(k / 2) - k) / s) + 1;
    params += w.length + b.length;
    macs += c2 * fanIn * out * out;
    const p = Math.floor(k / 2);
    const y = g.op('Conv', [x, g.floats([c2, c1, k, k], w, 'w'), g.floats([c2], b, 'b')], {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
    });
    return { out: y, hw: out };
  };
  /** Conv + (folded) BN + SiLU, Ultralytics' `Conv`. */
  const conv = (x: string, hw: number, c1: number, c2: number, k = 1, s = 1): { out: string; hw: number } => {
    const y = conv2d(x, hw, c1, c2, k, s);
    return { out: g.op('Mul', [y.out, g.op('Sigmoid', [y.out])]), hw: y.hw };
  };
  const c2f = (x: string, hw: number, c1: number, c2: number, n: number, shortcut: boolean): string => {
    const c = Math.floor(c2 / 2);
    const y = conv(x, hw, c1, 2 * c).out;
    const [a, b] = g.opN('Split', [y, g.ints([c, c])], 2, { axis: 1 }) as [string, string];
    const parts = [a, b];
    let last = b;
    for (let i = 0; i < n; i++) {
      const h = conv(conv(last, hw, c, c, 3).out, hw, c, c, 3).out;
      last = shortcut ? g.op('Add', [last, h]) : h;
      parts.push(last);
    }
    return conv(g.op('Concat', parts, { axis: 1 }), hw, (2 + n) * c, c2).out;
  };
  const sppf = (x: string, hw: number, c1: number, c2: number): string => {
    const c = Math.floor(c1 / 2);
    const y0 = conv(x, hw, c1, c).out;
    const pool = (t: string): string =>
      g.op('MaxPool', [t], { kernel_shape: [5, 5], strides: [1, 1], pads: [2, 2, 2, 2] });
    const y1 = pool(y0);
    const y2 = pool(y1);
    const y3 = pool(y2);
    return conv(g.op('Concat', [y0, y1, y2, y3], { axis: 1 }), hw, 4 * c, c2).out;
  };
  const upsample = (x: string): string =>
    g.op('Resize', [x, '', g.floats([4], [1, 1, 2, 2])], { mode: 'nearest' });

  const images = g.input('images', [1, 3, size, size]);
  // Backbone.
  const c = [64, 128, 256, 512, 1024].map(ch);
  const [c0, c1, c2, c3, c4] = c as [number, number, number, number, number];
  let hw = size;
  let x = conv(images, hw, 3, c0, 3, 2);
  hw = x.hw;
  x = conv(x.out, hw, c0, c1, 3, 2);
  hw = x.hw;
  let t = c2f(x.out, hw, c1, c1, reps(3), true);
  x = conv(t, hw, c1, c2, 3, 2);
  hw = x.hw;
  const p3 = c2f(x.out, hw, c2, c2, reps(6), true);
  const hw3 = hw;
  x = conv(p3, hw, c2, c3, 3, 2);
  hw = x.hw;
  const p4 = c2f(x.out, hw, c3, c3, reps(6), true);
  const hw4 = hw;
  x = conv(p4, hw, c3, c4, 3, 2);
  hw = x.hw;
  t = c2f(x.out, hw, c4, c4, reps(3), true);
  const p5 = sppf(t, hw, c4, c4);
  const hw5 = hw;
  // Head (PAN-FPN).
  const h12 = c2f(g.op('Concat', [upsample(p5), p4], { axis: 1 }), hw4, c4 + c3, c3, reps(3), false);
  const n3 = c2f(g.op('Concat', [upsample(h12), p3], { axis: 1 }), hw3, c3 + c2, c2, reps(3), false);
  const d16 = conv(n3, hw3, c2, c2, 3, 2).out;
  const n4 = c2f(g.op('Concat', [d16, h12], { axis: 1 }), hw4, c2 + c3, c3, reps(3), false);
  const d19 = conv(n4, hw4, c3, c3, 3, 2).out;
  const n5 = c2f(g.op('Concat', [d19, p5], { axis: 1 }), hw5, c3 + c4, c4, reps(3), false);

  // Detect head: box branch (4 × 16 distance bins) and class branch per level.
  const levels: Array<[string, number, number]> = [
    [n3, hw3, c2],
    [n4, hw4, c3],
    [n5, hw5, c4],
  ];
  const boxCh = Math.max(16, Math.floor(c2 / 4), REG_MAX * 4);
  const clsCh = Math.max(c2, Math.min(classes, 100));
  const flat: string[] = [];
  const anchorX: number[] = [];
  const anchorY: number[] = [];
  const strideOf: number[] = [];
  for (const [i, [feat, fhw, fc]] of levels.entries()) {
    const box = conv2d(
      conv(conv(feat, fhw, fc, boxCh, 3).out, fhw, boxCh, boxCh, 3).out,
      fhw,
      boxCh,
      4 * REG_MAX,
      1,
      1,
      1,
    );
    // Ultralytics' prior: about five objects per 640² image, so scores start low (few candidates
    // reach NMS, as with a trained model).
    const prior = Math.log(5 / classes / (640 / STRIDES[i]!) ** 2);
    const cls = conv2d(
      conv(conv(feat, fhw, fc, clsCh, 3).out, fhw, clsCh, clsCh, 3).out,
      fhw,
      clsCh,
      classes,
      1,
      1,
      prior,
    );
    const level = g.op('Concat', [box.out, cls.out], { axis: 1 });
    flat.push(g.op('Reshape', [level, g.ints([1, 4 * REG_MAX + classes, fhw * fhw])]));
    for (let y = 0; y < fhw; y++)
      for (let xx = 0; xx < fhw; xx++) {
        anchorX.push(xx + 0.5);
        anchorY.push(y + 0.5);
        strideOf.push(STRIDES[i]!);
      }
  }
  const anchors = anchorX.length;
  const all = g.op('Concat', flat, { axis: 2 });
  const [boxRaw, clsRaw] = g.opN('Split', [all, g.ints([4 * REG_MAX, classes])], 2, { axis: 1 }) as [
    string,
    string,
  ];
  // DFL: per side, the expectation of a softmax over 16 distance bins.
  const bins = g.op('Transpose', [g.op('Reshape', [boxRaw, g.ints([1, 4, REG_MAX, anchors])])], {
    perm: [0, 2, 1, 3],
  });
  const soft = g.op('Softmax', [bins], { axis: 1 });
  const expect = g.op('Conv', [
    soft,
    g.floats(
      [1, REG_MAX, 1, 1],
      Array.from({ length: REG_MAX }, (_, i) => i),
    ),
  ]);
  const dist = g.op('Reshape', [expect, g.ints([1, 4, anchors])]);
  const [lt, rb] = g.opN('Split', [dist, g.ints([2, 2])], 2, { axis: 1 }) as [string, string];
  const anchorPoints = g.floats([1, 2, anchors], [...anchorX, ...anchorY]);
  const x1y1 = g.op('Sub', [anchorPoints, lt]);
  const x2y2 = g.op('Add', [anchorPoints, rb]);
  const centre = g.op('Div', [g.op('Add', [x1y1, x2y2]), g.scalar(2)]);
  const wh = g.op('Sub', [x2y2, x1y1]);
  const strides = g.floats([1, 1, anchors], strideOf);
  const boxes = g.op('Mul', [g.op('Concat', [centre, wh], { axis: 1 }), strides]);
  g.op('Concat', [boxes, g.op('Sigmoid', [clsRaw])], { axis: 1 }, 'output0');
  g.output('output0', [1, 4 + classes, anchors]);
  return {
    model: g.build(`YOLOv8${opts.scale ?? 'n'} architecture with random weights (timing only)`),
    params,
    flops: 2 * macs,
    anchors,
  };
}
