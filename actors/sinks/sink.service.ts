import type { ServiceSchema } from 'moleculer';
import type { ConsumerRunner, ConsumerStats } from '../../streams/mod.ts';

/**
 * A Moleculer service that is nothing but one durable consumer: starts it with the broker,
 * stops it (flushing and acking what it holds) before the broker's connections close, and
 * answers `health` with its counters.
 */
export function sinkService<T>(name: string, runner: ConsumerRunner<T>): ServiceSchema {
  return {
    name,
    actions: {
      health: { handler: (): { consumer: ConsumerStats } => ({ consumer: runner.stats() }) },
    },
    async started() {
      await runner.start();
    },
    async stopped() {
      await runner.stop();
    },
  };
}
