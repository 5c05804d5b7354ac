import { publishReading, type JetStreamClient, type Names } from '../../streams/mod.ts';
import type { SseFrame } from '../../test/helpers/sse-client.ts';

/**
 * Publish → SSE latency, measured with a dedicated probe unit: every `intervalMs` it publishes
 * a reading that breaches the bench rule, then one that clears it, alternately. Each opens or
 * resolves an alert, and the event carries the reading's `ts`, which is unique: the time from
 * just before the publish to the arrival of the matching SSE frame is one sample. Both ends
 * are stamped in this process with performance.now().
 */
export interface ProbeStats {
  sent: number;
  received: number;
  failed: number;
  /** Publish → SSE, ms. */
  latencies: number[];
}

interface Outstanding {
  sentAt: number;
  phase: string;
}

export class Prober {
  readonly #js: JetStreamClient;
  readonly #names: Names;
  readonly #tenantId: string;
  readonly #probeId: string;
  readonly #breach: number;
  readonly #clear: number;
  readonly #outstanding = new Map<number, Outstanding>();
  readonly #stats = new Map<string, ProbeStats>();
  #phase = 'warmup';
  #lastTs = 0;
  #breached = false;
  #timer: NodeJS.Timeout | null = null;
  #waiter: { ts: number; resolve: () => void } | null = null;

  constructor(
    js: JetStreamClient,
    names: Names,
    t: { tenantId: string; probeId: string },
    temps: { breach: number; clear: number },
  ) {
    this.#js = js;
    this.#names = names;
    this.#tenantId = t.tenantId;
    this.#probeId = t.probeId;
    this.#breach = temps.breach;
    this.#clear = temps.clear;
  }

  #statsOf(phase: string): ProbeStats {
    let s = this.#stats.get(phase);
    if (!s) {
      s = { sent: 0, received: 0, failed: 0, latencies: [] };
      this.#stats.set(phase, s);
    }
    return s;
  }

  /** Feed every SSE frame here. */
  onFrame(frame: SseFrame): void {
    let event: { type?: unknown; ts?: unknown; data?: { equipmentId?: unknown } };
    try {
      event = JSON.parse(frame.data ?? '') as typeof event;
    } catch {
      return;
    }
    if (event.data?.equipmentId !== this.#probeId || typeof event.ts !== 'number') return;
    const o = this.#outstanding.get(event.ts);
    if (!o) return;
    this.#outstanding.delete(event.ts);
    const s = this.#statsOf(o.phase);
    s.received++;
    s.latencies.push(frame.receivedAt - o.sentAt);
    if (this.#waiter?.ts === event.ts) {
      this.#waiter.resolve();
      this.#waiter = null;
    }
  }

  /** Publish the next probe reading (breach and clear alternate); returns its ts. */
  fire(): number {
    const ts = Math.max(Date.now(), this.#lastTs + 1);
    this.#lastTs = ts;
    this.#breached = !this.#breached;
    const phase = this.#phase;
    const s = this.#statsOf(phase);
    s.sent++;
    this.#outstanding.set(ts, { sentAt: performance.now(), phase });
    publishReading(this.#js, this.#names, this.#tenantId, this.#probeId, {
      ts,
      temperature: this.#breached ? this.#breach : this.#clear,
    }).catch(() => {
      s.failed++;
      this.#outstanding.delete(ts);
    });
    return ts;
  }

  /** One probe, waited for: proves the whole path works before anything is measured. */
  async roundTrip(timeoutMs: number): Promise<boolean> {
    const ts = this.fire();
    let timer: NodeJS.Timeout | undefined;
    const arrived = await Promise.race([
      new Promise<boolean>((resolve) => {
        this.#waiter = { ts, resolve: () => resolve(true) };
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.#waiter = null;
    return arrived;
  }

  /** Probe every `intervalMs` under the label `phase` until stop(). */
  start(phase: string, intervalMs: number): void {
    this.stopFiring();
    this.#phase = phase;
    this.#timer = setInterval(() => this.fire(), intervalMs);
  }

  stopFiring(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Wait (at most `ms`) for the probes still on their way. */
  async settle(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.#outstanding.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  stats(phase: string): ProbeStats {
    return this.#statsOf(phase);
  }
}
