export { names, type Names } from './subjects.ts';
export { connectNats, ensureStreams, ensureSnapshotBucket, deleteNamespace, streamConfigs } from './setup.ts';
export { publishReading, publishEvent, publishRulesChanged, DLQ_HEADERS } from './publish.ts';
export { publishControl, subscribeControl, requestActorState } from './control.ts';
export {
  requestCameraFrame,
  respondFrame,
  FRAME_HEADERS,
  type CameraFrame,
  type CameraFrameAnswer,
} from './camera-frames.ts';
export {
  ConsumerRunner,
  disposition,
  isOutage,
  isRetryable,
  sleepFor,
  type ConsumerOptions,
  type ConsumerStats,
  type Decoded,
  type Delivery,
  type Disposition,
  type Rejected,
  type RetryPolicy,
  type Settlement,
} from './consumer.ts';
export {
  decodeTelemetry,
  TelemetryDecoder,
  type StoredReading,
  type TelemetryDecodeConfig,
} from './telemetry.decode.ts';
export {
  decodeDetections,
  detectionsPartition,
  publishDetections,
  type DetectionsDecodeConfig,
  type StoredDetections,
} from './detections.ts';
export { readDetectionsRange } from './detections-range.ts';
export { handlingTurns, TurnBudget } from './turns.ts';
export { assignPartitions, partitionsOf, natsPartition, telemetryPartition } from './partitions.ts';
export { PartitionLeases, type LeaseOptions } from './leases.ts';
export { answerLiveness, LivenessProbe } from './liveness.ts';
export { isRevisionConflict, putAtPosition, type CasPosition } from './kv-cas.ts';
export type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
export type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
export { jetstream, jetstreamManager } from '@nats-io/jetstream';
export type { KV } from '@nats-io/kv';
export { checkedAgainst, jsonDecoder, parseJson } from './json-decoder.ts';
