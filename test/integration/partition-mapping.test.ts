/**
 * streams' partition function against the running NATS server's own subject mapping: what a
 * consumer checks a stored subject against must be exactly what the server appended.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../schemas/mod.ts';
import {
  connectNats,
  decodeTelemetry,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  names as namesFor,
  telemetryPartition,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from '../../streams/mod.ts';

const ns = `t${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, { VIGIL_NS: ns, LOG_LEVEL: 'silent' });
const names = namesFor(ns);
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

before(async () => {
  nc = await connectNats(config, 'partition-mapping-test');
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await ensureStreams(jsm, names);
});

after(async () => {
  await deleteNamespace(jsm, names);
  await nc.drain();
});

async function storedMessage(seq: number): Promise<JsMsg> {
  const m = await jsm.streams.getMessage(names.telemetry.stream, { seq });
  assert.ok(m, `stored message ${seq}`);
  // What a consumer sees of it: subject, bytes and the stream timestamp.
  return {
    subject: m.subject,
    data: m.data,
    timestampNanos: BigInt(m.time.getTime()) * 1_000_000n,
  } as unknown as JsMsg;
}

test('telemetryPartition equals the server mapping for a sample of units, and those subjects decode', async () => {
  const seen = new Set<number>();
  for (let i = 0; i < 48; i++) {
    // Mixed-case and plain tokens: the server hashes tokens exactly as published.
    const tenant = i % 3 === 0 ? randomUUID().toUpperCase() : randomUUID();
    const unit = randomUUID();
    const ack = await js.publish(names.telemetry.publish(tenant, unit), JSON.stringify({ temperature: 1 }));
    const msg = await storedMessage(ack.seq);
    const token = Number(msg.subject.split('.').at(-1));
    assert.equal(
      token,
      telemetryPartition(tenant, unit, config.VIGIL_PARTITIONS),
      `${tenant}/${unit}: server put it in ${token}`,
    );
    seen.add(token);
    const decoded = decodeTelemetry(msg, ns, config);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  }
  assert.ok(seen.size > 1, 'the sample spans several partitions');
});

test('a message published straight to another partition subject is refused as BAD_SUBJECT', async () => {
  const tenant = randomUUID();
  const unit = randomUUID();
  const right = telemetryPartition(tenant, unit, config.VIGIL_PARTITIONS);
  for (const p of [(right + 1) % config.VIGIL_PARTITIONS, 99]) {
    const ack = await js.publish(
      `${names.telemetry.publish(tenant, unit)}.${p}`,
      JSON.stringify({ temperature: 1 }),
    );
    const decoded = decodeTelemetry(await storedMessage(ack.seq), ns, config);
    assert.equal(decoded.ok ? 'ok' : decoded.code, 'BAD_SUBJECT', `partition ${p}`);
  }
});
