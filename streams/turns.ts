import { performance } from 'node:perf_hooks';

/**
 * How long message handling may hold the event loop before it lets sockets and timers run.
 *
 * An ordered runner handles the messages it has already received one after another, and every
 * step is a promise that is already settled: without a yield, a node draining a backlog — up to
 * 2,048 messages in each of its partitions — keeps the loop for the whole drain, as microtasks.
 * Measured in the fleet bench (10,000 units, 8 partitions): stalls of 0.3–1.5 s, during which the
 * node read no socket, wrote no ack, event or snapshot, and fired no timer; an alert raised at the
 * start of such a stall reached the gateway after it.
 *
 * One budget is shared by every runner of the process: the partitions' loops interleave their
 * microtasks, so per-loop slices would add up to one slice per partition.
 */
export const HANDLING_SLICE_MS = 10;

export class TurnBudget {
  readonly #sliceMs: number;
  readonly #clock: () => number;
  /** When this turn's handling started. */
  #start = 0;
  /** Resolves in the check phase after this turn: a new slice begins then. */
  #next: Promise<void> | null = null;

  constructor(sliceMs = HANDLING_SLICE_MS, clock: () => number = () => performance.now()) {
    this.#sliceMs = sliceMs;
    this.#clock = clock;
  }

  /**
   * Null while this turn's handling is within the slice: go on. Otherwise a promise to await
   * before handling the next message, the same one for every caller; it resolves once the loop
   * has run what was waiting (I/O callbacks, then immediates; timers on the next turn, before
   * the next slice ends).
   */
  due(): Promise<void> | null {
    const now = this.#clock();
    if (this.#next === null) {
      // The first message of a turn starts its slice. The immediate is cheap (one per turn with
      // messages) and marks the turn's end whether or not anyone waits for it.
      this.#start = now;
      this.#next = new Promise((resolve) =>
        setImmediate(() => {
          this.#next = null;
          resolve();
        }),
      );
      return null;
    }
    return now - this.#start >= this.#sliceMs ? this.#next : null;
  }
}

/** The process's budget for consumer handling (see `HANDLING_SLICE_MS`). */
export const handlingTurns = new TurnBudget();
