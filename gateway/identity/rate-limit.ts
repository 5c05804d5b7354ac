import type { Redis } from 'ioredis';
import { VigilError } from '../../schemas/mod.ts';
import { sha256 } from './tokens.ts';

/** Fixed window per key, atomic: the first hit of a window sets its expiry. */
const HIT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

export interface Limit {
  /** Requests allowed per window. */
  max: number;
  windowMs: number;
}

/** Limits of the endpoints that guess or mint credentials. Overridable (tests, deployments). */
export interface RateLimits {
  loginPerIp: Limit;
  /** Per account (its user id; for an unknown email, the email as the database compares it). */
  loginPerEmail: Limit;
  refreshPerIp: Limit;
  signupPerIp: Limit;
  acceptInvitePerIp: Limit;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  loginPerIp: { max: 30, windowMs: 60_000 },
  loginPerEmail: { max: 10, windowMs: 5 * 60_000 },
  refreshPerIp: { max: 60, windowMs: 60_000 },
  signupPerIp: { max: 5, windowMs: 60 * 60_000 },
  acceptInvitePerIp: { max: 20, windowMs: 60 * 60_000 },
};

export class RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /**
   * Count one hit against every (bucket, subject); throw RATE_LIMITED with the longest wait
   * when any is over its limit. Subjects are hashed: emails never sit in Redis in clear.
   * Redis unavailable → DEPENDENCY_UNAVAILABLE: credential endpoints fail closed.
   */
  async hit(checks: { bucket: string; subject: string; limit: Limit }[]): Promise<void> {
    let retryAfterMs = 0;
    try {
      const results = await Promise.all(
        checks.map(async ({ bucket, subject, limit }) => {
          const key = `${this.#prefix}rl:${bucket}:${sha256(subject).toString('base64url').slice(0, 22)}`;
          const [count, ttl] = (await this.#redis.eval(HIT, 1, key, String(limit.windowMs))) as [
            number,
            number,
          ];
          return { over: count > limit.max, ttl };
        }),
      );
      for (const r of results) if (r.over) retryAfterMs = Math.max(retryAfterMs, r.ttl);
    } catch (err) {
      throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
    }
    if (retryAfterMs > 0) {
      const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
      throw new VigilError('RATE_LIMITED', `too many attempts; retry in ${retryAfterS} s`, {
        details: { retryAfterS },
      });
    }
  }
}
