import type { ServiceSchema } from 'moleculer';
import {
  ConsumerRunner,
  TelemetryDecoder,
  type ConsumerOptions,
  type ConsumerStats,
  type StoredReading,
} from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';

/**
 * A batch consumer of every TELEMETRY message, named `name` (label and durable), decoding with
 * the node's shared decoder when it has one.
 */
export function telemetrySinkRunner(
  deps: NodeDeps,
  name: string,
  opts: Pick<ConsumerOptions<StoredReading>, 'handle' | 'batchSize' | 'lingerMs'>,
): ConsumerRunner<StoredReading> {
  const { names, config } = deps;
  const telemetry = deps.telemetry ?? new TelemetryDecoder(names.ns, config);
  return new ConsumerRunner<StoredReading>({
    js: deps.js,
    jsm: deps.jsm,
    names,
    log: deps.log,
    name,
    stream: names.telemetry.stream,
    durable: names.consumer(name),
    filterSubject: names.telemetry.all,
    dlqSource: 'telemetry',
    mode: 'batch',
    decode: (msg) => telemetry.decode(msg),
    ...opts,
  });
}

/**
 * A Moleculer service that is nothing but one durable consumer: starts it with the broker,
 * stops it (flushing and acking what it holds) before the broker's connections close, and
 * answers `health` with its counters.
 */
export function sinkService<T>(
  name: string,
  runner: ConsumerRunner<T>,
  /** Background upkeep started and stopped with the consumer. */
  jobs: readonly { start(): void; stop(): Promise<void> }[] = [],
): ServiceSchema {
  return {
    name,
    actions: {
      health: { handler: (): { consumer: ConsumerStats } => ({ consumer: runner.stats() }) },
    },
    async started() {
      await runner.start();
      for (const job of jobs) job.start();
    },
    async stopped() {
      await Promise.all(jobs.map((job) => job.stop()));
      await runner.stop();
    },
  };
}
