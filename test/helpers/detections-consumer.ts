import { createLogger, type Config } from '../../schemas/mod.ts';
import {
  ConsumerRunner,
  decodeDetections,
  type JetStreamClient,
  type JetStreamManager,
  type Names,
  type StoredDetections,
} from '../../streams/mod.ts';

export interface DetectionsConsumer {
  runner: ConsumerRunner<StoredDetections>;
  /** Frames decoded and handed to the handler so far. */
  handled(): number;
}

/**
 * The consumer loop every Vigil consumer runs, decoding with the DETECTIONS decoder: what a
 * camera actor is fed, and what it dead-letters. For the fuzz runs, which count what gets
 * through (test/integration/fuzz.test.ts, bench/fuzz.bench.ts). Not started.
 */
export function detectionsConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  config: Config;
  name: string;
}): DetectionsConsumer {
  let handled = 0;
  const runner = new ConsumerRunner<StoredDetections>({
    js: o.js,
    jsm: o.jsm,
    names: o.names,
    log: createLogger(o.config, o.name),
    name: o.name,
    stream: o.names.detections.stream,
    durable: o.name.replace(/-/g, '_'),
    filterSubject: o.names.detections.all,
    dlqSource: 'detections',
    mode: 'batch',
    decode: (msg) => decodeDetections(msg, o.config.VIGIL_NS, o.config),
    handle: async (batch) => {
      handled += batch.length;
    },
  });
  return { runner, handled: () => handled };
}
