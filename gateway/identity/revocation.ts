import type { Redis } from 'ioredis';
import { VigilError } from '../../schemas/mod.ts';
import type { AccessClaims } from './tokens.ts';

/** What revocation looks at in a token. */
export type RevocableClaims = Pick<AccessClaims, 'jti' | 'fam' | 'sub' | 'tid' | 'ims'>;

/** What a revocation applies to: one token, a refresh family, a user or a tenant. */
export interface RevocationScope {
  scope: 'jti' | 'fam' | 'user' | 'tenant';
  id: string;
}

/** Whether a revocation of `r` may concern a token with claims `c` (then Redis decides). */
export function concerns(
  r: RevocationScope,
  c: Pick<RevocableClaims, 'jti' | 'fam' | 'sub' | 'tid'>,
): boolean {
  switch (r.scope) {
    case 'jti':
      return c.jti === r.id;
    case 'fam':
      return c.fam === r.id;
    case 'user':
      return c.sub === r.id;
    case 'tenant':
      return c.tid === r.id;
    default: {
      const never: never = r.scope;
      return never;
    }
  }
}

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
  readonly #announce: (r: RevocationScope) => void;

  /**
   * `ttlS`: the access-token lifetime (plus clock tolerance), after which entries are moot.
   * `announce` tells long-lived holders of a token (event streams, on every gateway) that a
   * revocation was written, so they re-check now instead of at their next heartbeat.
   */
  constructor(
    redis: Redis,
    prefix: string,
    accessTtlS: number,
    announce: (r: RevocationScope) => void = () => undefined,
  ) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlS = accessTtlS + 10;
    this.#announce = announce;
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
    this.#announce({ scope: 'jti', id: jti });
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.#set(`${this.#prefix}revoked:fam:${familyId}`, '1', this.#ttlS);
    this.#announce({ scope: 'fam', id: familyId });
  }

  /** Void every access token of the user issued up to now (role, sites or status changed). */
  async cutoffUser(userId: string, now = Date.now()): Promise<void> {
    await this.#set(`${this.#prefix}revoked:user:${userId}`, String(now), this.#ttlS);
    this.#announce({ scope: 'user', id: userId });
  }

  async cutoffTenant(tenantId: string, now = Date.now()): Promise<void> {
    await this.#set(`${this.#prefix}revoked:tenant:${tenantId}`, String(now), this.#ttlS);
    this.#announce({ scope: 'tenant', id: tenantId });
  }

  async #set(key: string, value: string, ttlS: number): Promise<void> {
    try {
      await this.#redis.set(key, value, 'EX', ttlS);
    } catch (err) {
      throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
    }
  }
}
