import type { NatsConnection, Subscription } from '../../streams/mod.ts';
import type { KernelHealth } from './kernel.ts';

/** What a host asks of its kernel (an `ActorKernel` of any kind). */
interface HostedKernel {
  reclaim(): Promise<void>;
  start(): void;
  scheduleRebalance(): void;
  stop(): Promise<void>;
  health(): KernelHealth;
}

/**
 * A kind's kernel on one node, with the control subscriptions that reach its live actors, in
 * the order every kind needs: the subscriptions are taken before the kernel reclaims or starts
 * (a control message sent while an actor is being restored must not slip by), and dropped before
 * the kernel stops. A kind's host extends this with what is its own: `follow()` names its
 * control subscriptions; caches and timers wrap `start`/`stop`.
 */
export class KernelHost<Kernel extends HostedKernel> {
  /** The kernel hosting the actors: live-state queries and control go through it. */
  readonly kernel: Kernel;
  readonly #nc: NatsConnection;
  #subs: Subscription[] | null = null;

  /** `nc`: the connection the subscriptions of `follow()` are on. */
  constructor(kernel: Kernel, nc: NatsConnection) {
    this.kernel = kernel;
    this.#nc = nc;
  }

  /** The kind's control subscriptions; called once, before the kernel first reclaims or starts. */
  protected follow(): Subscription[] {
    return [];
  }

  /**
   * Before membership is known: follow control messages, then take back the partitions this
   * node held before a restart (`ActorKernel.reclaim`). `start()` follows.
   */
  async reclaim(): Promise<void> {
    await this.#listen();
    await this.kernel.reclaim();
  }

  async start(): Promise<void> {
    await this.#listen();
    this.kernel.start();
  }

  /** Coalesce bursts of membership events into one rebalance. */
  scheduleRebalance(): void {
    this.kernel.scheduleRebalance();
  }

  async stop(): Promise<void> {
    for (const sub of this.#subs ?? []) sub.unsubscribe();
    this.#subs = null;
    await this.kernel.stop();
  }

  health(): KernelHealth {
    return this.kernel.health();
  }

  async #listen(): Promise<void> {
    if (this.#subs) return;
    this.#subs = this.follow();
    // In place at the server before anything is restored.
    await this.#nc.flush();
  }
}
