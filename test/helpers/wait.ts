/**
 * The one poll of the test suite: `probe` until it answers something other than `undefined` or
 * `false`, every `everyMs`, for at most `ms`. A probe that throws is retried (the service may not
 * be up yet); its last error is the cause of the timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await sleep(everyMs);
  }
}
