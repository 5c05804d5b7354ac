/**
 * An actor node whose start fails half way must not leave a running broker behind: a caller
 * that retries would otherwise pile up zombie nodes, each still connected and subscribed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startActorNode } from '../../actors/mod.ts';
import { createLogger, loadConfig } from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstreamManager,
  names as namesFor,
  streamConfigs,
  type JetStreamManager,
  type NatsConnection,
} from '../../streams/mod.ts';

const ns = `t${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
const names = namesFor(ns);
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  nc = await connectNats(config, 'actor-node-start-test');
  jsm = await jetstreamManager(nc);
  // EVENTS admits one consumer, and it is taken: the alerts sink cannot create its own, so
  // its service fails in started() — after the broker has connected.
  const events = streamConfigs(names).find((c) => c.name === names.events.stream)!;
  await jsm.streams.add({ ...events, max_consumers: 1 });
  await ensureStreams(jsm, names);
  await jsm.consumers.add(names.events.stream, { durable_name: 'squatter', ack_policy: 'explicit' as never });
});

after(async () => {
  await deleteNamespace(jsm, names);
  await nc.drain();
});

/** Whether anything is subscribed to `subject`: NATS answers "no responders" at once when nothing is. */
async function subscribed(subject: string): Promise<boolean> {
  try {
    await nc.request(subject, 'probe', { timeout: 1500 });
    return true;
  } catch (err) {
    const text = String((err as Error).message) + String((err as { code?: unknown }).code);
    if (/no responders|503/i.test(text)) return false;
    // A subscriber that does not answer NATS requests (Moleculer) shows as a timeout.
    if (/timeout/i.test(text)) return true;
    throw err;
  }
}

test('positive control: the probe sees a node that started, and no longer once it stopped', async () => {
  const nodeID = `${ns}-healthy`;
  const node = await startActorNode({
    config,
    log: createLogger(config, 'start-test'),
    nodeID,
    services: ['equipment'],
  });
  try {
    assert.equal(node.nodeID, nodeID);
    assert.equal(await subscribed(`MOL-${ns}.PING.${nodeID}`), true, 'a live broker is seen');
  } finally {
    await node.stop();
  }
  assert.equal(await subscribed(`MOL-${ns}.PING.${nodeID}`), false, 'a stopped broker is not');
});

test('a node whose service fails to start is stopped: its broker leaves NATS', async () => {
  const nodeID = `${ns}-doomed`;
  await assert.rejects(
    startActorNode({ config, log: createLogger(config, 'start-test'), nodeID, services: ['alerts'] }),
    (err: Error) => /maximum consumers/i.test(err.message) || /consumer/i.test(err.message),
  );
  // Moleculer's transporter subscribes `MOL-<ns>.<PACKET>.<nodeID>` while connected.
  assert.equal(await subscribed(`MOL-${ns}.PING.${nodeID}`), false, 'no broker of that node is left');
});
