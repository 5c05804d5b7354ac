/**
 * Where an actor node's start spends its time: when each step ended (epoch ms), reported by
 * the node (bench/lib/actor-node.ts), read against the moment the bench spawned it.
 */
export interface StartPhases {
  /** The process began (Node's time origin). */
  processAt: number;
  /** Its modules were loaded (the entry point's first line ran). */
  modulesAt: number;
  /** startActorNode was called, then: connected to NATS, streams and KV bucket ensured, broker started. */
  calledAt: number;
  natsAt: number;
  streamsAt: number;
  brokerAt: number;
  /** The last partition's lease was held, and the last partition began consuming (null: no actors). */
  leasesAt: number | null;
  servingAt: number | null;
  /** Actors restored before consuming (the wake index), over all partitions. */
  restoredActors: number;
  /** The node told its parent it was ready. */
  readyAt: number;
}

export const PHASE_STEPS = [
  ['process up', 'processAt'],
  ['modules loaded', 'modulesAt'],
  ['NATS connected', 'natsAt'],
  ['streams + KV', 'streamsAt'],
  ['broker started', 'brokerAt'],
  ['leases held', 'leasesAt'],
  ['all serving', 'servingAt'],
  ['ready', 'readyAt'],
] as const satisfies ReadonlyArray<readonly [string, keyof StartPhases]>;

/** Milliseconds from the spawn to the end of each step. */
export function sinceSpawn(spawnedAt: number, p: StartPhases): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [label, key] of PHASE_STEPS) {
    const at = p[key];
    out[label] = at === null ? null : Math.round(at - spawnedAt);
  }
  return out;
}

/** One line per step: the median over runs of ms since the spawn, and the runs themselves. */
export function phaseTable(runs: Array<Record<string, number | null>>): string[] {
  return PHASE_STEPS.map(([label]) => {
    const xs = runs.map((r) => r[label]).filter((x): x is number => x !== null && x !== undefined);
    const sorted = [...xs].sort((a, b) => a - b);
    const median = sorted.length ? sorted[(sorted.length - 1) >> 1]! : Number.NaN;
    return `    ${label.padEnd(15)} ${String(median).padStart(6)} ms   (${xs.join(', ')})`;
  });
}
