import type { Redis } from 'ioredis';
import { VigilError } from '../../schemas/mod.ts';
import type { AccessClaims } from './tokens.ts';

/** What revocation looks at in a token. */
export type RevocableClaims = Pick<AccessClaims, 'jti' | 'fam' | 'sub' | 'tid' | 'ims'>;

/**
 * Access tokens are stateless for ~15 minutes; these Redis entries cut that short when it
 * matters: logout (the token's jti), refresh-token reuse (its family), a changed or disabled
 * user and a suspended tenant (every token issued before the change). Each entry lives only as
 * long as a token it could reject, so the set stays small.
 */
export class Revocations {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlS: number;

  /** `ttlS`: the access-token lifetime (plus clock tolerance), after which entries are moot. */
  constructor(redis: Redis, prefix: string, accessTtlS: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlS = accessTtlS + 10;
  }

  #keys(c: RevocableClaims): string[] {
    return [
      `${this.#prefix}revoked:jti:${c.jti}`,
      `${this.#prefix}revoked:fam:${c.fam ?? 'none'}`,
      `${this.#prefix}revoked:user:${c.sub}`,
      `${this.#prefix}revoked:tenant:${c.tid}`,
    ];
  }

  /** True when the token was revoked one way or another. Redis down → 503, never "valid". */
  async isRevoked(c: RevocableClaims): Promise<boolean> {
    let values: (string | null)[];
    try {
      values = await this.#redis.mget(this.#keys(c));
    } catch (err) {
      throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
    }
    const [jti, fam, user, tenant] = values;
    if (jti !== null || (c.fam !== null && fam !== null)) return true;
    // User and tenant entries hold a cutoff: tokens issued at or before it are void.
    for (const cutoff of [user, tenant]) {
      if (cutoff !== null && c.ims <= Number(cutoff)) return true;
    }
    return false;
  }

  async revokeToken(jti: string, expUnixS: number): Promise<void> {
    const ttl = Math.max(1, Math.min(this.#ttlS, expUnixS - Math.floor(Date.now() / 1000) + 10));
    await this.#set(`${this.#prefix}revoked:jti:${jti}`, '1', ttl);
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.#set(`${this.#prefix}revoked:fam:${familyId}`, '1', this.#ttlS);
  }

  /** Void every access token of the user issued up to now (role, sites or status changed). */
  async cutoffUser(userId: string, now = Date.now()): Promise<void> {
    await this.#set(`${this.#prefix}revoked:user:${userId}`, String(now), this.#ttlS);
  }

  async cutoffTenant(tenantId: string, now = Date.now()): Promise<void> {
    await this.#set(`${this.#prefix}revoked:tenant:${tenantId}`, String(now), this.#ttlS);
  }

  async #set(key: string, value: string, ttlS: number): Promise<void> {
    try {
      await this.#redis.set(key, value, 'EX', ttlS);
    } catch (err) {
      throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
    }
  }
}
