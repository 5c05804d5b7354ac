import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { MAX_DETECTIONS_BYTES, MAX_READING_BYTES, VigilError, type Config } from '../schemas/mod.ts';
import type { Names } from './subjects.ts';

const NS_PER_S = 1_000_000_000;
const DAY_S = 24 * 3600;

/** Duplicate window for every stream: publishers retry within it with the same `Nats-Msg-Id`. */
export const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

/**
 * Largest stored telemetry message. Above the reading limit on purpose: a reading of 8–16 KiB
 * is stored, so consumers can dead-letter it with PAYLOAD_TOO_LARGE and the original bytes;
 * anything larger is refused at publish.
 */
export const MAX_TELEMETRY_MSG_BYTES = 2 * MAX_READING_BYTES;

export async function connectNats(config: Pick<Config, 'NATS_URL'>, name = 'vigil'): Promise<NatsConnection> {
  try {
    return await connect({
      servers: config.NATS_URL,
      name,
      // Keep trying forever: a node outliving a NATS restart must come back by itself.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      // Otherwise every request (each KV put, each event publish) builds Error objects with
      // stack traces up front: 12.6 % of an actor node's CPU. Our logs carry the context.
      noAsyncTraces: true,
    });
  } catch (err) {
    throw new VigilError('DEPENDENCY_UNAVAILABLE', `cannot connect to NATS at ${config.NATS_URL}`, {
      cause: err,
    });
  }
}

export function streamConfigs(
  names: Names,
): Array<Partial<StreamConfig> & { name: string; subjects: string[] }> {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: (DUPLICATE_WINDOW_MS / 1000) * NS_PER_S,
    num_replicas: 1,
  };
  return [
    {
      ...common,
      name: names.telemetry.stream,
      subjects: [names.telemetry.all],
      max_age: 7 * DAY_S * NS_PER_S,
      max_msg_size: MAX_TELEMETRY_MSG_BYTES,
    },
    {
      // Kept a day: zone replay runs draft zones over what the cameras saw.
      ...common,
      name: names.detections.stream,
      subjects: [names.detections.all],
      max_age: DAY_S * NS_PER_S,
      max_msg_size: MAX_DETECTIONS_BYTES,
    },
    { ...common, name: names.events.stream, subjects: [names.events.all], max_age: 30 * DAY_S * NS_PER_S },
    { ...common, name: names.dlq.stream, subjects: [names.dlq.all], max_age: 30 * DAY_S * NS_PER_S },
  ];
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * Create or update TELEMETRY, EVENTS and DLQ. Idempotent and safe when several nodes start at
 * once: a lost creation race turns into an update of the same config.
 */
export async function ensureStreams(jsm: JetStreamManager, names: Names): Promise<void> {
  for (const cfg of streamConfigs(names)) {
    let exists = true;
    try {
      await jsm.streams.info(cfg.name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      exists = false;
    }
    if (!exists) {
      try {
        await jsm.streams.add(cfg);
        continue;
      } catch (err) {
        // Another node created it between our info and add; fall through to update.
        if (!(err instanceof JetStreamApiError)) throw err;
      }
    }
    const { name, ...update } = cfg;
    await jsm.streams.update(name, update);
  }
}

/** The actor snapshot bucket (`names.kv.snapshots`): actor state, checkpoints and partition leases. */
export async function ensureSnapshotBucket(js: JetStreamClient, names: Names): Promise<KV> {
  const kvm = new Kvm(js);
  try {
    return await kvm.create(names.kv.snapshots, { history: 1, storage: StorageType.File });
  } catch (err) {
    // Lost a creation race with another node: the bucket is there now.
    if (!(err instanceof JetStreamApiError)) throw err;
    return kvm.open(names.kv.snapshots);
  }
}

/**
 * Delete every stream and bucket of a namespace (tests, teardown of a demo). Refuses the empty
 * namespace: production streams are never deleted by code.
 */
export async function deleteNamespace(jsm: JetStreamManager, names: Names): Promise<void> {
  if (!names.ns)
    throw new VigilError('INVALID_STATE', 'refusing to delete the streams of the default namespace');
  for (const stream of [
    names.telemetry.stream,
    names.events.stream,
    names.dlq.stream,
    `KV_${names.kv.snapshots}`,
  ]) {
    try {
      await jsm.streams.delete(stream);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
  }
}
