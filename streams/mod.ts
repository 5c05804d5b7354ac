export {
  names,
  isToken,
  parseTelemetrySubject,
  type Names,
  type ParsedTelemetrySubject,
} from './subjects.ts';
export {
  connectNats,
  ensureStreams,
  ensureSnapshotBucket,
  deleteNamespace,
  streamConfigs,
  DUPLICATE_WINDOW_MS,
  MAX_TELEMETRY_MSG_BYTES,
} from './setup.ts';
export {
  publishReading,
  publishEvent,
  publishDeadLetter,
  publishRulesChanged,
  eventSubject,
  DLQ_HEADERS,
  type Rejection,
} from './publish.ts';
export { publishControl, subscribeControl, decodeControl, requestActorState } from './control.ts';
export {
  ConsumerRunner,
  DEFAULT_BACKOFF_MS,
  disposition,
  isOutage,
  isRetryable,
  sleepFor,
  type ConsumerOptions,
  type ConsumerStats,
  type Decoded,
  type Deferred,
  type Delivery,
  type Disposition,
  type Rejected,
  type RetryPolicy,
  type Settlement,
} from './consumer.ts';
export {
  decodeTelemetry,
  storedAt,
  TelemetryDecoder,
  type StoredReading,
  type TelemetryDecodeConfig,
} from './telemetry.decode.ts';
export {
  decodeDetections,
  detectionsPartition,
  parseDetectionsSubject,
  publishDetections,
  type DetectionsDecodeConfig,
  type ParsedDetectionsSubject,
  type StoredDetections,
} from './detections.ts';
export { readDetectionsRange, type DetectionsRange, type DetectionsRangeResult } from './detections-range.ts';
export { assignPartitions, partitionsOf, natsPartition, telemetryPartition } from './partitions.ts';
export { PartitionLeases, type LeaseOptions } from './leases.ts';
export { answerLiveness, LivenessProbe, type Liveness, type ProbeOptions } from './liveness.ts';
export { isRevisionConflict, putAtRevision } from './kv-cas.ts';
export { consumerMetrics } from './metrics.ts';
export type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
export type { JetStreamClient, JetStreamManager, JsMsg, PubAck } from '@nats-io/jetstream';
export { jetstream, jetstreamManager } from '@nats-io/jetstream';
export type { KV } from '@nats-io/kv';
export { jsonDecoder } from './json-decoder.ts';
