/**
 * Keeps frames at the camera's detect rate from whatever rate the source delivers. Pure: feed it
 * each decoded frame's media time (seconds) in order; a jump backwards (stream restarted,
 * timestamps reset) starts over.
 */
export class FrameSampler {
  private last = -Infinity;
  private readonly period: number;

  constructor(fps: number) {
    if (!(fps > 0)) throw new RangeError(`detect fps must be > 0, got ${fps}`);
    this.period = 1 / fps;
  }

  accept(seconds: number): boolean {
    // A tenth of the period of slack absorbs timestamp jitter without ever doubling the rate.
    if (seconds < this.last || seconds - this.last >= this.period * 0.9) {
      this.last =
        seconds < this.last || this.last === -Infinity
          ? seconds
          : this.last + this.period * Math.round((seconds - this.last) / this.period);
      return true;
    }
    return false;
  }
}

/** Reconnect delay: exponential from `baseMs`, capped, with the jitter a caller supplies (0..1). */
export function backoffMs(attempt: number, jitter: number, baseMs = 500, maxMs = 15_000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(exp * (0.75 + 0.5 * jitter));
}
