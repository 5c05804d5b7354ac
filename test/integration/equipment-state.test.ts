/**
 * A unit's live state over the real services: `GET /v1/equipment/{id}/state` answers from the
 * owning actor (NATS request/reply) and PostgreSQL, and phase changes reach /v1/stream as
 * `equipment.state` events.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ActorNode } from '../../actors/mod.ts';
import type { RunningServer } from '../../gateway/mod.ts';
import { type ApiEquipmentState, type EquipmentStateEvent, type Pool } from '../../schemas/mod.ts';
import { publishReading } from '../../streams/mod.ts';
import { HIGH_TEMP_RULE, startLiveUnit } from '../helpers/live-unit.ts';
import { natsNamespace } from '../helpers/nats-namespace.ts';
import { SseClient, type SseFrame } from '../helpers/sse-client.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'state-password-123';
let node: ActorNode;
let server: RunningServer;
const fx = natsNamespace('state-device', {
  beforeDelete: async () => {
    await server?.close();
    await node?.stop();
  },
});
const config = fx.config;
let admin: Pool;
let tenantId: string;
let equipmentId: string;
let email: string;

before(async () => {
  ({ tenantId, equipmentId, email, admin, node, server } = await startLiveUnit(config, {
    name: 'State Foods',
    slug: 'state',
    password: PASSWORD,
    rules: [
      HIGH_TEMP_RULE,
      ['door_left_open', 'door_open', { levels: [{ severity: 'warning', after_s: 600 }] }],
    ],
  }));
});

after(async () => {
  if (tenantId) {
    await admin.query('DELETE FROM telemetry WHERE tenant_id = $1', [tenantId]);
    await admin.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
  }
  await admin?.end();
});

test('the state endpoint and equipment.state events follow a unit from idle to firing', async () => {
  const login = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(login.status, 200);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const get = async (id: string) =>
    fetch(`${server.url}/v1/equipment/${id}/state`, { headers: { authorization: `Bearer ${accessToken}` } });
  const state = async () => {
    const res = await get(equipmentId);
    assert.equal(res.status, 200);
    return (await res.json()) as ApiEquipmentState;
  };

  assert.equal((await get(randomUUID())).status, 404, 'a unit nobody can see is 404');

  // Before any reading: the owner serves the partition but holds no actor for the unit.
  const idle = await waitFor('the owner to serve the partition', async () => {
    const s = await state();
    return s.actor.status === 'unavailable' ? undefined : s;
  });
  assert.equal(idle.actor.status, 'idle');
  assert.equal(idle.lastReading, null);
  assert.deepEqual(
    idle.rules.map((r) => [r.ruleKey, r.kind, r.phase]),
    [
      ['door_left_open', 'door_open', 'unknown'],
      ['high_temp', 'threshold', 'unknown'],
    ],
  );

  const frames: SseFrame[] = [];
  const sse = await SseClient.open(`${server.url}/v1/stream?kind=equipment`, {
    token: accessToken,
    onFrame: (f) => frames.push(f),
    requireOk: true,
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const { js, names } = fx;
    const t0 = Date.now() - 120_000;
    // Breach above -5 held past 30 s (opens at t+30); the door opens at t+40 and stays open.
    for (const s of [0, 10, 20, 30, 40])
      await publishReading(js, names, tenantId, equipmentId, {
        ts: t0 + s * 1000,
        temperature: -2,
        door: s >= 40,
      });

    const firing = await waitFor('high_temp firing in the live state', async () => {
      const s = await state();
      const rule = s.rules.find((r) => r.ruleKey === 'high_temp');
      return rule?.phase === 'firing' && s.openAlerts.length > 0 ? s : undefined;
    });
    assert.equal(firing.actor.status, 'live');
    assert.equal(firing.lastReadingAt, new Date(t0 + 40_000).toISOString());
    assert.equal(firing.door, true);
    assert.equal(firing.setpoint, -18, 'the configured setpoint, the controller reported none');
    const high = firing.rules.find((r) => r.ruleKey === 'high_temp')!;
    assert.equal(high.severity, 'critical');
    assert.equal(firing.openAlerts[0]!.id, high.alertId, 'the open alert is the one the actor holds');
    const door = firing.rules.find((r) => r.ruleKey === 'door_left_open')!;
    assert.equal(door.phase, 'pending');
    assert.equal(door.timerAt, new Date(t0 + 640_000).toISOString(), 'door_open fires 600 s after opening');
    assert.ok(firing.actor.seq !== null && firing.actor.seq >= 5);

    const event = await waitFor('an equipment.state event showing the alert', async () =>
      frames
        .filter((f) => f.event === 'equipment.state')
        .map((f) => JSON.parse(f.data!) as EquipmentStateEvent)
        .find((e) => e.data.rules.some((r) => r.ruleKey === 'high_temp' && r.phase === 'firing')),
    );
    assert.equal(event.data.equipmentId, equipmentId);
    assert.ok(
      frames.filter((f) => f.event === 'equipment.state').every((f) => f.id === undefined),
      'a live notice carries no id: a resume replays stored events only',
    );
    assert.equal(event.data.rules.find((r) => r.ruleKey === 'high_temp')!.alertId, high.alertId);
    const stateFrames = frames.filter((f) => f.event === 'equipment.state').length;
    assert.ok(stateFrames < 5, `state events are per change, not per reading (${stateFrames})`);
    assert.deepEqual(
      frames.filter((f) => f.event !== 'equipment.state').map((f) => f.event),
      [],
      'kind=equipment carries only state events',
    );
  } finally {
    await sse.close();
  }
});
