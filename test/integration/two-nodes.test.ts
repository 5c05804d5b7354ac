/**
 * Two actor nodes over the real services (child processes: Moleculer membership over NATS,
 * PostgreSQL, ClickHouse): while readings stream, a second node joins and the partitions
 * split between the two as rendezvous hashing says; then it leaves and the first takes its
 * partitions back. No reading is processed by two owners at once, which the nodes' own logs
 * prove: each applied message is logged (level trace) with its partition, unit and sequence,
 * and each node logs when it starts serving a partition and when it has released it.
 *
 * - every published reading is applied exactly once, over both nodes (a graceful handover
 *   replays nothing: the leaving owner commits what it applied before it releases);
 * - the ownership intervals of a partition never overlap, and every message a node applied
 *   lies within one of its own intervals of that partition;
 * - per unit, the applied sequence, in ownership order, strictly increases across owners.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ActorNodeHealth } from '../../actors/mod.ts';
import type { ActorNodeReady } from '../../bench/lib/actor-node.ts';
import { ChildNode } from '../../bench/lib/child.ts';
import {
  crashReading,
  dropCrashTenant,
  idle,
  seedCrashTenant,
  stored,
  type CrashEnv,
  type CrashTenant,
} from '../../bench/lib/crash.ts';
import { createClickHouse, createPool, loadConfig, type Pool } from '../../schemas/mod.ts';
import {
  assignPartitions,
  connectNats,
  deleteNamespace,
  jetstream,
  jetstreamManager,
  names as namesFor,
  publishReading,
  type NatsConnection,
} from '../../streams/mod.ts';
import { waitFor } from '../helpers/wait.ts';

const run = randomBytes(3).toString('hex');
const ns = `tn${run}`;
const names = namesFor(ns);
const config = loadConfig(process.env, { LOG_LEVEL: 'silent', VIGIL_NS: ns });
const PARTITIONS = config.VIGIL_PARTITIONS;
const UNITS = 16;
const T0 = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
const logDir = join(tmpdir(), `vigil-two-nodes-${run}`);

let nc: NatsConnection;
let admin: Pool;
let ch: ClickHouseClient;
let env: CrashEnv;
let tenant: CrashTenant | null = null;
const nodes = new Set<ChildNode<ActorNodeReady>>();

before(async () => {
  nc = await connectNats(config, 'two-nodes-test');
  admin = createPool(config, 'admin', 2);
  ch = createClickHouse(config);
  env = { config, js: jetstream(nc), jsm: await jetstreamManager(nc), admin, ch, logDir };
  mkdirSync(logDir, { recursive: true });
});

after(async () => {
  for (const n of nodes) await n.kill();
  await deleteNamespace(env.jsm, names).catch(() => undefined);
  if (tenant) await dropCrashTenant(admin, tenant.tenantId);
  await nc?.drain();
  await admin?.end();
  await ch?.close();
});

/** Two node ids between which rendezvous hashing gives each node some partitions. */
function splitPair(): [string, string] {
  for (let s = 0; ; s++) {
    const pair: [string, string] = [`${ns}-a${s}`, `${ns}-b${s}`];
    const owners = assignPartitions(pair, PARTITIONS);
    if (owners.includes(pair[0]) && owners.includes(pair[1])) return pair;
  }
}

async function startNode(nodeId: string, joining: boolean): Promise<ChildNode<ActorNodeReady>> {
  const node = await ChildNode.start<ActorNodeReady>({
    name: `actor node ${nodeId}`,
    script: 'bench/lib/actor-node.ts',
    bundle: true,
    env: {
      ...process.env,
      VIGIL_NS: ns,
      BENCH_NODE_ID: nodeId,
      // Trace: the kernel logs every message it applies, which is what this test audits.
      LOG_LEVEL: 'trace',
      ...(joining ? { BENCH_AWAIT_PARTITIONS: '0' } : {}),
    },
    logFile: join(logDir, `${nodeId}.log`),
    readyTimeoutMs: 90_000,
  });
  nodes.add(node);
  return node;
}

async function serving(node: ChildNode<ActorNodeReady>): Promise<number[]> {
  const h = await node.call<ActorNodeHealth>('health');
  return (h.equipment?.partitions ?? []).filter((p) => p.phase === 'serving').map((p) => p.partition);
}

const ownedBy = (owners: string[], node: string): number[] =>
  owners.flatMap((o, p) => (o === node ? [p] : []));

/**
 * Publishes one round (a reading of every unit) every 50 ms until stopped; resolves with the
 * stream sequences of every reading published, by unit.
 */
function streamReadings(t: CrashTenant): {
  rounds: () => number;
  stop: () => Promise<Map<string, number[]>>;
} {
  let round = 0;
  let stopping = false;
  const seqs = new Map<string, number[]>(t.units.map((u) => [u, []]));
  // A PubAck that times out on a loaded machine is asked again: the message id makes the
  // second publish a duplicate, acknowledged with the first one's sequence.
  const publishOnce = async (unit: string, u: number): Promise<number> => {
    const r = crashReading(u, round, T0);
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await publishReading(env.js, names, t.tenantId, unit, {
          ts: r.ts,
          temperature: r.temperature,
        });
        return ack.seq;
      } catch (err) {
        if (attempt >= 5 || !(err instanceof Error && /timeout/i.test(`${err.name} ${err.message}`)))
          throw err;
      }
    }
  };
  const loop = (async (): Promise<void> => {
    while (!stopping) {
      const acks = await Promise.all(t.units.map((unit, u) => publishOnce(unit, u)));
      acks.forEach((seq, u) => seqs.get(t.units[u]!)!.push(seq));
      round++;
      await sleep(50);
    }
  })();
  return {
    rounds: () => round,
    stop: async () => {
      stopping = true;
      await loop;
      return seqs;
    },
  };
}

interface LogLine {
  time: string;
  msg: string;
  /** The Moleculer service that logged it (each actor kind's kernel logs as its service). */
  service?: string;
  partition?: number;
  equipmentId?: string;
  seq?: number;
  fenced?: boolean;
}

interface NodeLog {
  node: string;
  /** Serving intervals by partition, epoch ms (`to` = Infinity while serving). */
  intervals: Array<{ p: number; from: number; to: number }>;
  applied: Array<{ p: number; unit: string; seq: number; at: number }>;
  warnings: string[];
}

function readNodeLog(node: string, file: string): NodeLog {
  const out: NodeLog = { node, intervals: [], applied: [], warnings: [] };
  const open = new Map<number, number>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    if (!raw.startsWith('{')) continue;
    const line = JSON.parse(raw) as LogLine;
    if (line.service !== 'equipment') continue;
    const at = Date.parse(line.time);
    if (line.msg === 'serving partition') open.set(line.partition!, at);
    else if (line.msg === 'released partition') {
      const from = open.get(line.partition!);
      assert.ok(from !== undefined, `${node} released partition ${line.partition} it never served`);
      out.intervals.push({ p: line.partition!, from, to: at });
      open.delete(line.partition!);
      if (line.fenced) out.warnings.push(`partition ${line.partition} released fenced`);
    } else if (line.msg === 'message applied')
      out.applied.push({ p: line.partition!, unit: line.equipmentId!, seq: line.seq!, at });
    else if (/fenced|another owner|lease taken/.test(line.msg)) out.warnings.push(line.msg);
  }
  for (const [p, from] of open) out.intervals.push({ p, from, to: Number.POSITIVE_INFINITY });
  return out;
}

test(
  'a second node joins and partitions split; it leaves and the first takes over; no reading has two owners at once',
  { timeout: 600_000 },
  async (t) => {
    tenant = await seedCrashTenant(admin, `two-nodes-${run}`, UNITS);
    const [a, b] = splitPair();
    const owners = assignPartitions([a, b], PARTITIONS);
    const all = Array.from({ length: PARTITIONS }, (_, p) => p);

    const nodeA = await startNode(a, false);
    assert.deepEqual(await serving(nodeA), all, 'alone, the first node serves every partition');
    const publisher = streamReadings(tenant);
    await waitFor('readings flowing to the first node', () => publisher.rounds() >= 10);

    // A second node joins while readings stream: each ends up serving its rendezvous share.
    const nodeB = await startNode(b, true);
    await waitFor(
      'the partitions split between the two nodes',
      async () => {
        const [sa, sb] = await Promise.all([serving(nodeA), serving(nodeB)]);
        return (
          JSON.stringify(sa) === JSON.stringify(ownedBy(owners, a)) &&
          JSON.stringify(sb) === JSON.stringify(ownedBy(owners, b))
        );
      },
      120_000,
      200,
    );
    const splitAt = publisher.rounds();
    await waitFor('readings flowing to both nodes', () => publisher.rounds() >= splitAt + 20, 60_000);

    // The second node leaves (cleanly): the first takes every partition back. Its equipment
    // service releasing every partition it served is what the log check below asserts; the
    // rest of the node (sinks) may take a while to stop on a loaded machine.
    const exitB = await nodeB.stop(60_000);
    nodes.delete(nodeB);
    await waitFor(
      'the first node serving every partition again',
      async () => JSON.stringify(await serving(nodeA)) === JSON.stringify(all),
      120_000,
      200,
    );
    const backAt = publisher.rounds();
    await waitFor('readings flowing after the takeover', () => publisher.rounds() >= backAt + 10, 60_000);
    const published = await publisher.stop();
    const count = [...published.values()].reduce((n, s) => n + s.length, 0);
    await waitFor(
      'every reading handled and stored',
      async () => (await idle(env, names)) && stored(env, tenant!, count),
      180_000,
      250,
    );
    const exitA = await nodeA.stop(60_000);
    nodes.delete(nodeA);
    t.diagnostic(`exit codes: ${a} ${exitA}, ${b} ${exitB}`);

    const logs = [readNodeLog(a, join(logDir, `${a}.log`)), readNodeLog(b, join(logDir, `${b}.log`))];
    for (const l of logs) assert.deepEqual(l.warnings, [], `${l.node}: no fencing, no lost lease`);

    // Ownership: B served exactly its share; every partition's intervals are disjoint.
    const bParts = [...new Set(logs[1]!.intervals.map((i) => i.p))].sort((x, y) => x - y);
    assert.deepEqual(bParts, ownedBy(owners, b), 'the joining node served its share, nothing else');
    const intervals = logs
      .flatMap((l) => l.intervals.map((i) => ({ ...i, node: l.node })))
      .sort((x, y) => x.p - y.p || x.from - y.from);
    for (let i = 1; i < intervals.length; i++) {
      const prev = intervals[i - 1]!;
      const cur = intervals[i]!;
      if (prev.p !== cur.p) continue;
      assert.ok(
        prev.to <= cur.from,
        `partition ${cur.p}: ${prev.node} served until ${prev.to}, ${cur.node} from ${cur.from}`,
      );
    }
    const handovers = intervals.filter((x, i) => i > 0 && intervals[i - 1]!.p === x.p).length;
    assert.ok(handovers >= 2 * bParts.length, `each of B's partitions moved there and back (${handovers})`);

    // Every message applied inside its node's own ownership interval, in ownership order.
    const applied = logs.flatMap((l) =>
      l.applied.map((m, order) => {
        const idx = intervals.findIndex(
          (x) => x.node === l.node && x.p === m.p && x.from <= m.at && m.at <= x.to,
        );
        assert.ok(idx >= 0, `${l.node} applied seq ${m.seq} of partition ${m.p} outside its ownership`);
        return { ...m, node: l.node, interval: idx, order };
      }),
    );
    const perNode = new Map(logs.map((l) => [l.node, 0]));
    for (const m of applied) perNode.set(m.node, perNode.get(m.node)! + 1);
    assert.ok(perNode.get(b)! > 0, 'the second node applied readings while it owned partitions');
    t.diagnostic(`applied per node: ${JSON.stringify(Object.fromEntries(perNode))}; handovers ${handovers}`);

    // Exactly once over both nodes, and per unit strictly increasing across owners.
    const byUnit = new Map<string, typeof applied>();
    for (const m of applied) byUnit.set(m.unit, [...(byUnit.get(m.unit) ?? []), m]);
    assert.deepEqual([...byUnit.keys()].sort(), [...tenant.units].sort(), 'every unit was applied');
    for (const [unit, ms] of byUnit) {
      ms.sort((x, y) => x.interval - y.interval || x.order - y.order);
      const seqs = ms.map((m) => m.seq);
      for (let i = 1; i < seqs.length; i++)
        assert.ok(seqs[i - 1]! < seqs[i]!, `unit ${unit}: seq ${seqs[i]} applied after ${seqs[i - 1]}`);
      assert.deepEqual(seqs, published.get(unit), `unit ${unit}: every reading applied exactly once`);
    }
    const pg = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    assert.equal(pg.rows[0]!.n, count, 'every reading stored once');
  },
);
