import { RequestError, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Names } from './subjects.ts';

/**
 * Is the node that holds a lease still there? Asked of NATS itself, not of a membership view.
 *
 * An actor node answers requests on `names.nodes.alive(nodeId)` for as long as its NATS
 * connection lives: the subscription is on the very connection that renews its leases. A
 * request to a subject nobody subscribes to is answered by the server at once with "no
 * responders", and the server drops a connection's subscriptions the moment its TCP connection
 * closes — which a SIGKILLed process's kernel does on the spot. So "no responders" means: no
 * process holds this node's connection now, and nothing it would still write can come from
 * that connection. A live holder that is slow, paused or cut off from us answers late or not at
 * all (a timeout): that proves nothing, and the lease then only goes by staleness.
 *
 * A holder that lost its connection without dying (a network cut, a NATS restart) also reads
 * as gone until it reconnects (nats.js resubscribes first thing on reconnect). The partition
 * kernel is fenced for that: the new owner took the lease with compare-and-set, and the old
 * one renews the lease before it commits anything, fails, and stops (actors/kernel).
 */
export type Liveness = 'alive' | 'gone' | 'unknown';

/** Answer liveness probes for `nodeId` on `nc` until the subscription ends. */
export function answerLiveness(nc: NatsConnection, names: Names, nodeId: string): Subscription {
  return nc.subscribe(names.nodes.alive(nodeId), {
    callback: (err, msg) => {
      if (err) return;
      // A closed connection cannot reply; the asker's timeout covers it.
      try {
        msg.respond();
      } catch {
        /* see above */
      }
    },
  });
}

export interface ProbeOptions {
  /** How long to wait for an answer; past it the holder counts as 'unknown' (default 500 ms). */
  timeoutMs?: number;
  /** Reuse an answer for a node this long (default 250 ms): every partition it held asks at once. */
  reuseMs?: number;
}

/** Asks nodes whether they are alive; one request per node at a time, shared by its askers. */
export class LivenessProbe {
  readonly #nc: NatsConnection;
  readonly #names: Names;
  readonly #timeoutMs: number;
  readonly #reuseMs: number;
  readonly #answers = new Map<string, { at: number; answer: Promise<Liveness> }>();

  constructor(nc: NatsConnection, names: Names, opts: ProbeOptions = {}) {
    this.#nc = nc;
    this.#names = names;
    this.#timeoutMs = opts.timeoutMs ?? 500;
    this.#reuseMs = opts.reuseMs ?? 250;
  }

  probe(nodeId: string): Promise<Liveness> {
    const now = performance.now();
    const known = this.#answers.get(nodeId);
    if (known && now - known.at < this.#reuseMs) return known.answer;
    const answer = this.#ask(nodeId);
    this.#answers.set(nodeId, { at: now, answer });
    // Forget it once it can no longer be reused, so the map holds only nodes asked lately.
    void answer.then(() =>
      setTimeout(() => {
        if (this.#answers.get(nodeId)?.answer === answer) this.#answers.delete(nodeId);
      }, this.#reuseMs).unref(),
    );
    return answer;
  }

  async #ask(nodeId: string): Promise<Liveness> {
    try {
      await this.#nc.request(this.#names.nodes.alive(nodeId), undefined, { timeout: this.#timeoutMs });
      return 'alive';
    } catch (err) {
      return err instanceof RequestError && err.isNoResponders() ? 'gone' : 'unknown';
    }
  }
}
