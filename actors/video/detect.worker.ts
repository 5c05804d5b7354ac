/**
 * Detector worker thread: owns onnxruntime sessions and runs inference off the event loop. It
 * is bundled to plain JavaScript at start (see worker-script.ts): worker threads cannot load
 * TypeScript through the tsx loader.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { appearance } from './appearance.ts';
import { sessionOptions, type Detection, type FromWorker, type ToWorker } from './detect.protocol.ts';
import { decodeYolo, yoloOutputShape } from './yolo.ts';

if (!parentPort) throw new Error('detect.worker must run as a worker thread');
const port: MessagePort = parentPort;

interface Loaded {
  session: ort.InferenceSession;
  input: string;
  output: string;
}
const sessions = new Map<string, Loaded>();
/** Frame buffers go back to the camera with the answer, to be filled again (no per-frame allocation). */
const send = (m: FromWorker): void =>
  'input' in m ? port.postMessage(m, [m.input.buffer as ArrayBuffer]) : port.postMessage(m);

/** Checks the model against the detector contract; returns the square input side. */
async function check(session: ort.InferenceSession): Promise<{ inputSize: number; classes: number }> {
  if (session.inputNames.length !== 1)
    throw new Error(`model must have one input, has ${session.inputNames.length}`);
  const meta = session.inputMetadata[0];
  const shape = meta && meta.isTensor ? meta.shape : [];
  const [n, c, h, w] = shape;
  if (shape.length !== 4 || (typeof c === 'number' && c !== 3) || (typeof n === 'number' && n !== 1))
    throw new Error(`model input must be [1, 3, H, W] float32 RGB, got [${shape.join(', ')}]`);
  if (typeof h !== 'number' || typeof w !== 'number' || h !== w || h < 32)
    throw new Error(`model input must be a fixed square [1, 3, S, S], got [${shape.join(', ')}]`);
  const probe = new ort.Tensor('float32', new Float32Array(3 * h * w), [1, 3, h, w]);
  const out = await session.run({ [session.inputNames[0]!]: probe });
  const first = out[session.outputNames[0]!];
  if (!first) throw new Error('model produced no output');
  const [classes] = yoloOutputShape(first.dims);
  return { inputSize: h, classes };
}

async function load(msg: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  try {
    const options = sessionOptions(msg.threads);
    const session =
      typeof msg.model === 'string'
        ? await ort.InferenceSession.create(msg.model, options)
        : await ort.InferenceSession.create(msg.model, options);
    try {
      const info = await check(session);
      await sessions.get(msg.key)?.session.release();
      sessions.set(msg.key, { session, input: session.inputNames[0]!, output: session.outputNames[0]! });
      send({ type: 'loaded', key: msg.key, ...info });
    } catch (err) {
      await session.release();
      throw err;
    }
  } catch (err) {
    send({
      type: 'load-failed',
      key: msg.key,
      reason: (err as Error).message.split('\n')[0] ?? 'model load failed',
    });
  }
}

async function detect(msg: Extract<ToWorker, { type: 'detect' }>): Promise<void> {
  const loaded = sessions.get(msg.key);
  if (!loaded)
    return send({ type: 'failed', id: msg.id, reason: `model ${msg.key} is not loaded`, input: msg.input });
  try {
    const tensor = new ort.Tensor('float32', msg.input, [1, 3, msg.size, msg.size]);
    const started = performance.now();
    const out = await loaded.session.run({ [loaded.input]: tensor });
    const inferenceMs = performance.now() - started;
    const result = out[loaded.output]!;
    const raw = decodeYolo(result.data as Float32Array, result.dims, msg.decode);
    const detections: Detection[] = raw.map((d) => ({
      ...d,
      appearance: appearance(msg.input, msg.size, d),
    }));
    send({ type: 'result', id: msg.id, detections, inferenceMs, input: msg.input });
  } catch (err) {
    send({
      type: 'failed',
      id: msg.id,
      reason: (err as Error).message.split('\n')[0] ?? 'inference failed',
      input: msg.input,
    });
  }
}

/**
 * Work started and not finished: loads, inferences, releases. Each is native onnxruntime code
 * for part of its time, and a thread must never be stopped inside it (see `close`).
 */
const inHand = new Set<Promise<unknown>>();
function track(work: Promise<unknown>): void {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  inHand.add(settled);
  void settled.then(() => inHand.delete(settled));
}

/**
 * The thread ends itself: once the work in hand has settled and every session is released, the
 * port closes and, with nothing left to run, the thread exits between two JavaScript turns —
 * never inside a native call. (Terminating it from outside could land inside one: node-addon-api
 * then cannot throw into the dying thread and aborts the whole process.)
 */
async function close(): Promise<void> {
  while (inHand.size > 0) await Promise.all(inHand);
  const open = [...sessions.values()];
  sessions.clear();
  await Promise.allSettled(open.map((s) => s.session.release()));
  port.close();
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'load':
      track(load(msg));
      break;
    case 'unload': {
      const s = sessions.get(msg.key);
      sessions.delete(msg.key);
      if (s) track(s.session.release());
      break;
    }
    case 'detect':
      track(detect(msg));
      break;
    case 'close':
      void close();
      break;
  }
});
