import type { ServiceSchema } from 'moleculer';
import {
  ConsumerRunner,
  TelemetryDecoder,
  type ConsumerOptions,
  type ConsumerStats,
  type Settlement,
  type StoredReading,
} from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import type { UnitRegistry } from './unit-registry.ts';

/** What a telemetry sink needs beyond the node's shared handles. */
export interface TelemetrySinkDeps extends NodeDeps {
  /** Which (tenant, unit) pairs may be stored; shared by the node's sinks. */
  units: UnitRegistry;
}

/**
 * Ack wait of the sink consumers: how long messages a crashed node had been handed stay held
 * before another node (or its own restart) gets them. Short, because until then a restarted
 * node cannot store them; the runner's in-progress acks keep a slow write from being
 * redelivered meanwhile.
 */
export const SINK_ACK_WAIT_MS = 5_000;

/**
 * A batch consumer of every TELEMETRY message, named `name` (label and durable), decoding with
 * the node's shared decoder when it has one. `handle` sees only readings of registered units:
 * the others are dead-lettered with their reason before it runs.
 */
export function telemetrySinkRunner(
  deps: TelemetrySinkDeps,
  name: string,
  opts: Pick<ConsumerOptions<StoredReading>, 'handle' | 'batchSize' | 'lingerMs'> &
    Partial<Pick<ConsumerOptions<StoredReading>, 'ackWaitMs'>>,
): ConsumerRunner<StoredReading> {
  const { names, config, units } = deps;
  const decode = (deps.telemetry ?? new TelemetryDecoder(names.ns, config)).reader();
  return new ConsumerRunner<StoredReading>({
    js: deps.js,
    jsm: deps.jsm,
    names,
    log: deps.log,
    name,
    stream: names.telemetry.stream,
    durable: names.consumer(name),
    // All of TELEMETRY, so no filter: a filtered consumer lagging behind a backlog was served at
    // a fraction of its rate on nats-server 2.9.10 (see ConsumerOptions.filterSubject).
    dlqSource: 'telemetry',
    mode: 'batch',
    decode,
    ackWaitMs: SINK_ACK_WAIT_MS,
    ...opts,
    handle: async (batch) => {
      const { accepted, rejected } = await units.screen(batch);
      const settled: Settlement<StoredReading>[] = rejected;
      if (accepted.length) settled.push(...((await opts.handle(accepted)) ?? []));
      return settled;
    },
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
