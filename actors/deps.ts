import type { Config, Logger } from '../schemas/mod.ts';
import type { JetStreamClient, JetStreamManager, KV, NatsConnection, Names } from '../streams/mod.ts';

/** What every service of an actor node shares: configuration, logger and the NATS handles. */
export interface NodeDeps {
  config: Config;
  log: Logger;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  kv: KV;
}
