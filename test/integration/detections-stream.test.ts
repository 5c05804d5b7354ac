/**
 * DETECTIONS against the running NATS server: `det.<tenant>.<camera>` is partitioned by the
 * server's mapping like telemetry, frames decode, and bad frames are refused with a code.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { decodeDetections, detectionsPartition, publishDetections, type JsMsg } from '../../streams/mod.ts';
import { natsNamespace, storedAsDelivered } from '../helpers/nats-namespace.ts';

const fx = natsNamespace('detections-stream-test');
const { ns, config, names } = fx;

function stored(seq: number): Promise<JsMsg> {
  return storedAsDelivered(fx.jsm, names.detections.stream, seq);
}

const frame = (ts: number) => ({
  ts,
  seq: 7,
  detections: [
    {
      box: [0.1, 0.2, 0.2, 0.6] as [number, number, number, number],
      score: 0.9,
      appearance: [0.8, 0.1, 0.1],
    },
    { box: [0.5, 0.5, 0.6, 0.9] as [number, number, number, number], score: 0.8, cls: 2 },
  ],
});

test('frames are stored under the partition the server computes, and decode to the people in them', async () => {
  const seen = new Set<number>();
  for (let i = 0; i < 24; i++) {
    const tenant = randomUUID();
    const camera = randomUUID();
    const ack = await publishDetections(fx.js, names, tenant, camera, frame(Date.now()));
    const msg = await stored(ack.seq);
    const token = Number(msg.subject.split('.').at(-1));
    assert.equal(token, detectionsPartition(tenant, camera, config.VIGIL_PARTITIONS));
    seen.add(token);
    const d = decodeDetections(msg, ns, config);
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.equal(d.value.cameraId, camera);
    assert.deepEqual(
      d.value.frame.detections.map((x) => x.box),
      [{ x1: 0.1, y1: 0.2, x2: 0.2, y2: 0.6 }],
      'only people (class 0) are kept',
    );
  }
  assert.ok(seen.size > 1);
});

test('the same frame published twice is stored once (message id = camera + frame time)', async () => {
  const tenant = randomUUID();
  const camera = randomUUID();
  const ts = Date.now();
  const a = await publishDetections(fx.js, names, tenant, camera, frame(ts));
  const b = await publishDetections(fx.js, names, tenant, camera, frame(ts));
  assert.equal(b.duplicate, true);
  assert.equal(a.seq, b.seq);
});

test('malformed frames decode to a coded rejection (dead-lettered by the consumer)', async () => {
  const tenant = randomUUID();
  const camera = randomUUID();
  const cases: Array<[string, string]> = [
    ['not json', 'BAD_JSON'],
    [
      JSON.stringify({ ts: Date.now(), detections: [{ box: [0.1, 0.1, 1.5, 0.4], score: 0.9 }] }),
      'VALUE_OUT_OF_RANGE',
    ],
    [JSON.stringify({ ts: Date.now(), detections: [], colour: 'red' }), 'UNKNOWN_FIELD'],
    [JSON.stringify({ ts: Date.now() - 30 * 86400_000, detections: [] }), 'TIMESTAMP_OUT_OF_RANGE'],
  ];
  for (const [body, code] of cases) {
    const ack = await fx.js.publish(names.detections.publish(tenant, camera), body);
    const d = decodeDetections(await stored(ack.seq), ns, config);
    assert.equal(d.ok ? 'ok' : d.code, code, body);
  }
});
