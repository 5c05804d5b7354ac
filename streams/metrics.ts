import { Counter, register } from 'prom-client';

/**
 * Consumer counters on the default prom-client registry (what `/metrics` serves). Created once
 * per process: several consumers (and several nodes in one test process) share them, told
 * apart by the `consumer` label.
 */
function counter(name: string, help: string, labelNames: string[]): Counter {
  const existing = register.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, labelNames });
}

export const consumerMetrics = {
  processed: counter('vigil_stream_processed_total', 'Messages handled and acknowledged', ['consumer']),
  rejected: counter('vigil_stream_rejected_total', 'Messages dead-lettered, by error code', [
    'consumer',
    'code',
  ]),
  redelivered: counter('vigil_stream_redelivered_total', 'Messages seen more than once', ['consumer']),
  retried: counter('vigil_stream_retried_total', 'Handler failures that will be retried', ['consumer']),
};
