/**
 * A toy actor kind defined only for the tests: a counter per key, fed by `[ns.]count.<p>.<key>`
 * (the publisher picks the partition), that can ask to be woken at a server time. It shows that
 * the kernel carries a kind it was not written for: partitions, leases, snapshots, replay and
 * timers, with nothing of equipment in it.
 *
 * A message `{ key, i, wakeAt? }` adds `i` to the key's sums; each wake-up publishes a `woke`
 * event with a unique id (no deduplication), so a timer fired twice shows as two events.
 */
import { randomUUID } from 'node:crypto';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { ActorKind } from '../../actors/kernel/mod.ts';
import { natsPartition, type JetStreamClient, type JetStreamManager, type Names } from '../../streams/mod.ts';

export interface CounterMsg {
  key: string;
  i: number;
  wakeAt?: number;
}

export interface CounterState {
  /** Messages applied, the sum of their `i`, and the sum of squares (a double apply cannot hide). */
  n: number;
  sum: number;
  sumSq: number;
  wakeAt: number | null;
  woke: number;
}

export type CounterCommand = { type: 'Add'; data: CounterMsg } | { type: 'Wake'; data: { at: number } };
export type CounterEvent =
  { type: 'added'; data: CounterMsg } | { type: 'woke'; data: { at: number; now: number } };

export const COUNTER_PARTITIONS = 4;

export function counterNames(ns: string): {
  stream: string;
  subjects: string;
  events: string;
  woke(key: string): string;
} {
  const P = ns.toUpperCase();
  return {
    stream: `${P}_COUNTS`,
    subjects: `${ns}.count.*.*`,
    events: `${P}_COUNTEVT`,
    woke: (key) => `${ns}.countevt.woke.${key}`,
  };
}

export async function ensureCounterStreams(jsm: JetStreamManager, ns: string): Promise<void> {
  const c = counterNames(ns);
  const common = { storage: StorageType.File, retention: RetentionPolicy.Limits, num_replicas: 1 };
  await jsm.streams.add({ ...common, name: c.stream, subjects: [c.subjects] });
  await jsm.streams.add({ ...common, name: c.events, subjects: [`${ns}.countevt.>`] });
}

export function counterSubject(ns: string, key: string): string {
  return `${ns}.count.${natsPartition([key], COUNTER_PARTITIONS)}.${key}`;
}

/** The pure decider. */
export function handleCounter(
  state: CounterState,
  command: CounterCommand,
  now: number,
): { state: CounterState; events: CounterEvent[] } {
  switch (command.type) {
    case 'Add': {
      const { i, wakeAt } = command.data;
      return {
        events: [{ type: 'added', data: command.data }],
        state: {
          ...state,
          n: state.n + 1,
          sum: state.sum + i,
          sumSq: state.sumSq + i * i,
          wakeAt: wakeAt ?? state.wakeAt,
        },
      };
    }
    case 'Wake':
      if (state.wakeAt === null || state.wakeAt > command.data.at) return { state, events: [] };
      return {
        events: [{ type: 'woke', data: { at: state.wakeAt, now } }],
        state: { ...state, wakeAt: null, woke: state.woke + 1 },
      };
  }
}

export const blankCounter = (): CounterState => ({ n: 0, sum: 0, sumSq: 0, wakeAt: null, woke: 0 });

export type CounterKind = ActorKind<string, CounterMsg, CounterState, CounterCommand, CounterEvent, null>;

export function counterKind(ns: string, names: Names, js: JetStreamClient): CounterKind {
  const c = counterNames(ns);
  return {
    name: 'counter',
    source: { stream: c.stream, partition: (p) => `${ns}.count.${p}.*`, dlqSource: 'counter' },
    logKey: 'counterKey',
    decode(msg) {
      try {
        const m = msg.json<CounterMsg>();
        if (typeof m.key !== 'string' || typeof m.i !== 'number') throw new Error('shape');
        return { ok: true, value: m };
      } catch {
        return { ok: false, code: 'VALIDATION_FAILED', reason: 'not a counter message' };
      }
    },
    refOf: (m) => m.key,
    keyOf: (key) => key,
    codec: {
      version: 1,
      encode: (a) => ({ key: a.key, state: a.state }),
      decode: (body, key) =>
        body.v === 1 && body['key'] === key
          ? { ref: key, state: body['state'] as CounterState }
          : 'bad snapshot',
    },
    initialState: blankCounter,
    loadContext: async () => ({ ok: true, context: null }),
    toCommand: (m) => ({ type: 'Add', data: m }),
    handle: handleCounter,
    async emit(events, actor) {
      for (const e of events) {
        if (e.type !== 'woke') continue;
        await js.publish(c.woke(actor.key), JSON.stringify(e.data), { msgID: randomUUID() });
      }
    },
    wakeAt: (s) => s.wakeAt,
    onWake: (_actor, now) => ({ type: 'Wake', data: { at: now } }),
  };
}
