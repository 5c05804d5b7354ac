/**
 * A private NATS namespace for one test file: its own streams under a random `VIGIL_NS`,
 * created before the file's tests and deleted after them. Call at module top level, before the
 * file's own hooks: the connection is open in them. Logs are silent unless LOG_LEVEL is set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { loadConfig, type Config } from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from '../../streams/mod.ts';

export interface NatsNamespace {
  ns: string;
  config: Config;
  names: ReturnType<typeof namesFor>;
  /** Set once the file's `before` hook ran. */
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export interface NatsNamespaceOptions {
  /** Stops what still uses the namespace (actor nodes, servers) before its streams are deleted. */
  beforeDelete?: () => Promise<void>;
}

export function natsNamespace(clientName: string, options: NatsNamespaceOptions = {}): NatsNamespace {
  const ns = `t${randomBytes(4).toString('hex')}`;
  const fx = {
    ns,
    config: loadConfig(process.env, {
      VIGIL_NS: ns,
      ...(process.env['LOG_LEVEL'] ? {} : { LOG_LEVEL: 'silent' as const }),
    }),
    names: namesFor(ns),
  } as NatsNamespace;
  before(async () => {
    fx.nc = await connectNats(fx.config, clientName);
    fx.jsm = await jetstreamManager(fx.nc);
    fx.js = jetstream(fx.nc);
    await ensureStreams(fx.jsm, fx.names);
  });
  after(async () => {
    await options.beforeDelete?.();
    if (!fx.nc) return;
    await deleteNamespace(fx.jsm, fx.names);
    await fx.nc.drain();
  });
  return fx;
}

/** A stored message of `stream` as a consumer sees it: subject, bytes and the stream timestamp. */
export async function storedAsDelivered(jsm: JetStreamManager, stream: string, seq: number): Promise<JsMsg> {
  const m = await jsm.streams.getMessage(stream, { seq });
  assert.ok(m, `stored message ${seq}`);
  return {
    subject: m.subject,
    data: m.data,
    timestampNanos: BigInt(m.time.getTime()) * 1_000_000n,
  } as unknown as JsMsg;
}
