import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JetStreamManager } from '../../streams/mod.ts';
import { REPO_ROOT } from './child.ts';

/**
 * What the NATS server is doing while a bench runs: its CPU (from /proc, Linux) and, per
 * durable consumer, how many deliveries were redeliveries and how many pull requests wait. A
 * consumer whose messages outlive their ack wait in the client is redelivered over and over:
 * the server's CPU climbs while the stores' throughput falls (issue 12, finding 3).
 */

/** Pid of this checkout's nats-server (the one ops/stack.ts started), or null. */
export function natsServerPid(): number | null {
  const conf = join(REPO_ROOT, '.vigil', 'nats');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('nats-server') && cmd.includes(conf)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return null;
}

/** CPU % of `pid` (100 = one core) since the previous call (the first call starts the window). */
export function cpuSampler(pid: number): () => number {
  const ticks = (): number => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  // USER_HZ is 100 on every Linux this runs on.
  let last = { ticks: ticks(), at: performance.now() };
  return () => {
    const now = { ticks: ticks(), at: performance.now() };
    const pct = ((now.ticks - last.ticks) / 100 / ((now.at - last.at) / 1000)) * 100;
    last = now;
    return pct;
  };
}

export interface ConsumerSample {
  name: string;
  /** Deliveries that were redeliveries, since the consumer was created. */
  redelivered: number;
  ackPending: number;
  /** Pull requests waiting at the server. */
  waiting: number;
}

/** One sample of every durable consumer on `streams`. */
export async function sampleConsumers(
  jsm: JetStreamManager,
  streams: readonly string[],
): Promise<ConsumerSample[]> {
  const out: ConsumerSample[] = [];
  for (const stream of streams) {
    for await (const c of jsm.consumers.list(stream)) {
      // Every delivery bumps the consumer sequence; a first delivery also moves the stream
      // sequence by one (the sinks take every message of their stream, which has no gaps).
      const first = c.config.opt_start_seq
        ? c.delivered.stream_seq - c.config.opt_start_seq + 1
        : c.delivered.stream_seq;
      out.push({
        name: c.name,
        redelivered: Math.max(0, c.delivered.consumer_seq - first),
        ackPending: c.num_ack_pending,
        waiting: c.num_waiting,
      });
    }
  }
  return out;
}

/** A bench's watch loop: samples NATS every `everyMs` and sums up at the end. */
export class NatsWatch {
  readonly #jsm: JetStreamManager;
  readonly #streams: readonly string[];
  readonly #cpu: (() => number) | null;
  readonly #everyMs: number;
  #lastAt = 0;
  readonly cpu: number[] = [];
  last: ConsumerSample[] = [];
  maxWaiting = 0;

  /** Each sample as a line (BENCH_WATCH=verbose), e.g. to stderr. */
  readonly #say: ((line: string) => void) | null;

  constructor(
    jsm: JetStreamManager,
    streams: readonly string[],
    everyMs = 1000,
    say: ((line: string) => void) | null = null,
  ) {
    this.#say = say;
    this.#jsm = jsm;
    this.#streams = streams;
    const pid = natsServerPid();
    this.#cpu = pid === null ? null : cpuSampler(pid);
    this.#everyMs = everyMs;
  }

  async sample(): Promise<void> {
    if (performance.now() - this.#lastAt < this.#everyMs) return;
    this.#lastAt = performance.now();
    if (this.#cpu) this.cpu.push(this.#cpu());
    try {
      this.last = await sampleConsumers(this.#jsm, this.#streams);
    } catch {
      // A busy server answering slowly is what is being watched: skip this sample.
      return;
    }
    for (const c of this.last) this.maxWaiting = Math.max(this.maxWaiting, c.waiting);
    this.#say?.(
      `nats ${this.cpu.at(-1)?.toFixed(0) ?? '?'}% ` +
        this.last
          .filter((c) => !c.name.includes('equipment_p'))
          .map(
            (c) =>
              `${c.name.replace(/^.*?_/, '')} ack ${c.ackPending} redel ${c.redelivered} wait ${c.waiting}`,
          )
          .join(' | '),
    );
  }

  summary(): string {
    const sorted = [...this.cpu].sort((a, b) => a - b);
    const med = sorted.length ? sorted[(sorted.length - 1) >> 1]! : Number.NaN;
    const max = sorted.length ? sorted[sorted.length - 1]! : Number.NaN;
    const redelivered = this.last
      .filter((c) => !c.name.includes('equipment_p'))
      .map((c) => `${c.name.replace(/^.*?_/, '')} ${c.redelivered}`)
      .join(', ');
    return `nats-server CPU median ${med.toFixed(0)}% max ${max.toFixed(0)}%; sink redeliveries: ${redelivered}; most pull requests waiting ${this.maxWaiting}`;
  }
}
