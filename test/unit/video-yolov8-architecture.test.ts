import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  buildYoloArchitecture,
  decodeYolo,
  DetectorPool,
  sessionOptions,
  yoloOutputShape,
} from '../../actors/video/mod.ts';

describe('YOLOv8n architecture model (bench:vision)', () => {
  const arch = buildYoloArchitecture({ inputSize: 640 });

  test('has the size of the real YOLOv8n: 3.15 M parameters, 8.7 GFLOPs at 640', () => {
    // Ultralytics' summary of the fused model: 3 151 904 parameters (16 of them the fixed DFL
    // convolution, which is a constant here), 8.7 GFLOPs.
    assert.equal(arch.params, 3_151_888);
    assert.equal(Math.round(arch.flops / 1e8) / 10, 8.7);
    assert.equal(arch.anchors, 80 * 80 + 40 * 40 + 20 * 20);
  });

  test('loads in onnxruntime-node with the YOLOv8 contract: images [1,3,640,640] → output0 [1,84,8400]', async () => {
    const session = await ort.InferenceSession.create(arch.model, sessionOptions(1));
    try {
      assert.deepEqual(session.inputNames, ['images']);
      assert.deepEqual(session.outputNames, ['output0']);
      const input = session.inputMetadata[0];
      assert.ok(input?.isTensor);
      assert.deepEqual(input.shape, [1, 3, 640, 640]);
      const image = new Float32Array(3 * 640 * 640).fill(0.5);
      const out = await session.run({ images: new ort.Tensor('float32', image, [1, 3, 640, 640]) });
      const output = out['output0']!;
      assert.deepEqual(output.dims, [1, 84, 8400]);
      assert.deepEqual(yoloOutputShape(output.dims), [80, 8400]);
      const data = output.data as Float32Array;
      assert.ok(data.every(Number.isFinite), 'every value finite');
      // Class scores are sigmoids; boxes have positive sizes (DFL distances are ≥ 0).
      assert.ok(data.subarray(4 * 8400).every((s) => s >= 0 && s <= 1));
      assert.ok(data.subarray(2 * 8400, 4 * 8400).every((v) => v >= 0));
      // Decodes like any export (random weights: whatever it finds, NMS leaves at most 300).
      assert.ok(decodeYolo(data, output.dims, { confidence: 0.01, iou: 0.5 }).length <= 300);
    } finally {
      await session.release();
    }
  });

  test('the detector pool accepts it: 640 input, 80 classes', async () => {
    const pool = new DetectorPool({ size: 1 });
    try {
      assert.deepEqual(await pool.load('yolov8n', arch.model), {
        key: 'yolov8n',
        inputSize: 640,
        classes: 80,
      });
    } finally {
      await pool.close();
    }
  });

  test('is the same bytes for the same seed, other bytes for another', () => {
    const small = (seed: number): Buffer => Buffer.from(buildYoloArchitecture({ inputSize: 64, seed }).model);
    assert.ok(small(1).equals(small(1)));
    assert.ok(!small(1).equals(small(2)));
  });
});
