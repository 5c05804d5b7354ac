/**
 * An actor restored from a snapshot older than what the alerts sink already stored: the
 * node died after its events reached PostgreSQL but before its own commit landed. The
 * restored actor replays those readings; finding its alert resolved in PostgreSQL must not
 * make it forget the alert first, or the replayed breach opens an alert the uninterrupted run
 * never had. (Issue 12, finding 4.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { applyAlertEvents, startActorNode, type ActorNode, type UnitInfo } from '../../actors/mod.ts';
import { createLogger, createPool, loadConfig, type Pool } from '../../schemas/mod.ts';
import {
  connectNats,
  deleteNamespace,
  jetstream,
  jetstreamManager,
  names as namesFor,
  publishReading,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from '../../streams/mod.ts';
import { alertEventsFor, thresholdRule } from '../helpers/alert-scenarios.ts';
import {
  consumersIdle,
  dropRecoveryTenant,
  RECOVERY_RULE,
  seedRecoveryTenant,
  type RecoveryTenant,
} from '../helpers/recovery.ts';
import { waitFor } from '../helpers/wait.ts';

const ns = `t${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, {
  VIGIL_NS: ns,
  ...(process.env.LOG_LEVEL ? {} : { LOG_LEVEL: 'silent' as const }),
});
const log = createLogger(config, 'actor-restore-test');
const names = namesFor(ns);
const T0 = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
const at = (min: number): number => T0 + min * 60_000;

let admin: Pool;
let worker: Pool;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let world: RecoveryTenant;
let node: ActorNode | null = null;

const startNode = (): Promise<ActorNode> =>
  startActorNode({ config, log, nodeID: `${ns}-a`, services: ['equipment', 'alerts'] });

before(async () => {
  admin = createPool(config, 'admin', 2);
  worker = createPool(config, 'worker', 2);
  world = await seedRecoveryTenant(admin, 1);
  nc = await connectNats(config, 'actor-restore-test');
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
});

after(async () => {
  await node?.stop();
  if (jsm) await deleteNamespace(jsm, names);
  await nc?.drain();
  await dropRecoveryTenant(admin, world.tenantId);
  await admin?.end();
  await worker?.end();
});

async function alerts(
  unit: string,
): Promise<Array<{ id: string; status: string; opened_at: Date; resolved_at: Date | null }>> {
  return (
    await admin.query<{ id: string; status: string; opened_at: Date; resolved_at: Date | null }>(
      'SELECT id, status, opened_at, resolved_at FROM alerts WHERE equipment_id = $1 ORDER BY opened_at',
      [unit],
    )
  ).rows;
}

describe('restored behind the alerts sink', () => {
  test('a replayed breach of an alert the sink already saw resolved opens no extra alert', async () => {
    const unitId = world.units[0]!;
    const temps = [9, 9.5, 3];
    const send = (i: number): Promise<unknown> =>
      publishReading(js, names, world.tenantId, unitId, { ts: at(i), temperature: temps[i]! });

    node = await startNode();
    await send(0);
    const [opened] = await waitFor('alert opened', async () => {
      const rows = await alerts(unitId);
      return rows.length === 1 ? rows : undefined;
    });
    // Committed: the snapshot says firing, as of the first reading.
    await waitFor('actor and sink idle', () => consumersIdle(jsm, names));
    await node.stop();
    node = null;

    // What the dead node did and never committed: it handled the next two readings, the
    // second resolving the alert, and the sink stored that resolution.
    await send(1);
    await send(2);
    const unit: UnitInfo = {
      tenantId: world.tenantId,
      siteId: world.siteId,
      equipmentId: unitId,
      setpoint: null,
    };
    const rule = thresholdRule(unit, { id: world.ruleId, params: RECOVERY_RULE });
    const events = alertEventsFor(unit, rule, T0, temps);
    assert.deepEqual(
      events.map((e) => [e.type, e.data.alertId]),
      [
        ['alert.opened', opened!.id],
        ['alert.resolved', opened!.id],
      ],
    );
    await applyAlertEvents(worker, [events[1]!]);
    assert.equal((await alerts(unitId))[0]!.status, 'resolved');

    node = await startNode();
    await waitFor('replay handled', () => consumersIdle(jsm, names));
    const rows = await alerts(unitId);
    assert.deepEqual(
      rows.map((r) => [r.id, r.status, r.resolved_at?.getTime()]),
      [[opened!.id, 'resolved', at(2)]],
      'one alert, resolved by the third reading, as in an uninterrupted run',
    );
  });
});
