/**
 * Child process of test/integration/detector-pool-close.test.ts: detector pools opened and
 * closed while their threads are busy in onnxruntime — loading a model (which runs it once to
 * check its output), running frames, releasing a session — as deleting the last camera of a
 * node does. A YOLOv8n-size network built in code makes each native call last long enough to be
 * caught in. Exits 0 when every pool closed; a thread stopped inside a native call aborts the
 * whole process instead.
 * Usage: detector-pool-churn.ts <rounds>
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { buildYoloArchitecture, DetectorPool } from '../../actors/video/mod.ts';

const SIZE = 320;
const rounds = Number(process.argv[2] ?? 12);
const { model } = buildYoloArchitecture({ inputSize: SIZE });
const job = () => ({
  input: new Float32Array(3 * SIZE * SIZE).fill(0.5),
  size: SIZE,
  decode: { confidence: 0.25, iou: 0.5, classes: [0] },
});

for (let i = 0; i < rounds; i++) {
  const pool = new DetectorPool({ size: 2 });
  const at = (i * 97) % 600;
  switch (i % 3) {
    case 0:
      // Closed while the threads start, create the session and run it once to check it.
      pool.load('yolo', model).catch(() => undefined);
      await sleep(at);
      break;
    case 1:
      // Closed right after the model was unloaded (its session being released).
      await pool.load('yolo', model);
      pool.unload('yolo');
      await sleep(at / 50);
      break;
    default:
      // Closed with frames in flight and queued.
      await pool.load('yolo', model);
      for (let k = 0; k < 6; k++) void pool.detect(`cam${k % 3}`, 'yolo', job());
      await sleep(at / 5);
  }
  await pool.close();
  process.stdout.write(`round ${i} closed\n`);
}
