/**
 * A bounded window of in-flight async operations (JetStream publishes waiting for their
 * PubAck), so a publisher goes as fast as the server acknowledges without queueing unboundedly
 * in memory. Usage:
 *
 *   for (const x of items) {
 *     if (window.full) await window.room();
 *     window.start(() => publish(x));
 *   }
 *   await window.drain();
 *
 * `start` is synchronous and `room` waits until the window has drained to its low-water mark,
 * so publishes go out in bursts: nats.js flushes its outbound buffer in a microtask, and a
 * loop that awaited after every publish would make one socket write per message.
 * The first failure is remembered and rethrown by the next `room` or by `drain`.
 */
export class InFlightWindow {
  readonly size: number;
  readonly #lowWater: number;
  #inFlight = 0;
  #waiter: { level: number; resolve: () => void } | null = null;
  #error: unknown = null;

  constructor(size: number, lowWater = Math.floor(size * 0.75)) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`window size must be a positive integer, got ${size}`);
    this.size = size;
    this.#lowWater = Math.min(Math.max(0, lowWater), size - 1);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get full(): boolean {
    return this.#inFlight >= this.size;
  }

  start(op: () => Promise<unknown>): void {
    if (this.#error !== null) throw this.#error;
    this.#inFlight++;
    op().then(
      () => this.#release(),
      (err: unknown) => {
        this.#error ??= err;
        this.#release();
      },
    );
  }

  /** Wait until the window has drained to its low-water mark. */
  async room(): Promise<void> {
    await this.#until(this.#lowWater);
  }

  /** Wait until everything in flight has settled. */
  async drain(): Promise<void> {
    await this.#until(0);
  }

  async #until(level: number): Promise<void> {
    if (this.#inFlight > level) {
      await new Promise<void>((resolve) => {
        this.#waiter = { level, resolve };
      });
    }
    if (this.#error !== null) throw this.#error;
  }

  #release(): void {
    this.#inFlight--;
    const w = this.#waiter;
    if (w && this.#inFlight <= w.level) {
      this.#waiter = null;
      w.resolve();
    }
  }
}
