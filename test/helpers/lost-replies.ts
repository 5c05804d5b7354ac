/**
 * A KV bucket whose compare-and-set writes to chosen keys land on the server but lose their
 * reply, the way a request that times out under load may have been applied: the real write is
 * made, then the caller gets the client's own TimeoutError. Fault injection in front of the
 * real bucket, not a stand-in for it.
 */
import { TimeoutError } from '@nats-io/nats-core';
import type { KV } from '../../streams/mod.ts';

export interface LostReplies {
  kv: KV;
  /** Writes whose reply was dropped so far, by key. */
  readonly lost: Map<string, number>;
  /** Writes that landed (answered or not), by key: more than `lost` once one was answered. */
  readonly landed: Map<string, number>;
}

/** `kv` with the first `times` `create`/`update` replies of each key `drop` picks lost. */
export function losingReplies(kv: KV, drop: (key: string) => boolean, times: number): LostReplies {
  const lost = new Map<string, number>();
  const landed = new Map<string, number>();
  const proxy = new Proxy(kv, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'create' && prop !== 'update') return value.bind(target);
      return async (key: string, ...rest: unknown[]) => {
        const revision: unknown = await value.call(target, key, ...rest);
        landed.set(key, (landed.get(key) ?? 0) + 1);
        const n = lost.get(key) ?? 0;
        if (drop(key) && n < times) {
          lost.set(key, n + 1);
          throw new TimeoutError();
        }
        return revision;
      };
    },
  });
  return { kv: proxy, lost, landed };
}
