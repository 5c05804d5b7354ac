/**
 * streams' partition function against the running NATS server's own subject mapping: what a
 * consumer checks a stored subject against must be exactly what the server appended.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { decodeTelemetry, telemetryPartition, type JsMsg } from '../../streams/mod.ts';
import { natsNamespace, storedAsDelivered } from '../helpers/nats-namespace.ts';

const fx = natsNamespace('partition-mapping-test');
const { ns, config, names } = fx;

function storedMessage(seq: number): Promise<JsMsg> {
  return storedAsDelivered(fx.jsm, names.telemetry.stream, seq);
}

test('telemetryPartition equals the server mapping for a sample of units, and those subjects decode', async () => {
  const seen = new Set<number>();
  for (let i = 0; i < 48; i++) {
    // Mixed-case and plain tokens: the server hashes tokens exactly as published.
    const tenant = i % 3 === 0 ? randomUUID().toUpperCase() : randomUUID();
    const unit = randomUUID();
    const ack = await fx.js.publish(
      names.telemetry.publish(tenant, unit),
      JSON.stringify({ temperature: 1 }),
    );
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
    const ack = await fx.js.publish(
      `${names.telemetry.publish(tenant, unit)}.${p}`,
      JSON.stringify({ temperature: 1 }),
    );
    const decoded = decodeTelemetry(await storedMessage(ack.seq), ns, config);
    assert.equal(decoded.ok ? 'ok' : decoded.code, 'BAD_SUBJECT', `partition ${p}`);
  }
});
