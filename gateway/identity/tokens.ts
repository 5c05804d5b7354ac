import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { SignJWT, jwtVerify } from 'jose';
import { compile, Uuid, UserRole, VigilError } from '../../schemas/mod.ts';
import { JWT_ALG, type KeyRing } from './keys.ts';
import type { Role } from './types.ts';

/** RFC 9068 media type: an access token cannot be confused with any other JWT we might sign. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** Claims of a Vigil access token, checked after the signature. */
const AccessClaims = Type.Object({
  iss: Type.String(),
  aud: Type.Union([Type.String(), Type.Array(Type.String())]),
  sub: Uuid,
  tid: Uuid,
  role: UserRole,
  sites: Type.Union([Type.Array(Uuid, { maxItems: 500 }), Type.Null()]),
  /** Refresh-token family the token was issued from (logout and reuse revoke it). */
  fam: Type.Union([Uuid, Type.Null()]),
  jti: Uuid,
  iat: Type.Integer(),
  exp: Type.Integer(),
  /** Issue time in ms: `iat` has one-second resolution, too coarse for "issued before this change". */
  ims: Type.Integer(),
});
export type AccessClaims = Static<typeof AccessClaims>;
const checkClaims = compile(AccessClaims);

export interface AccessSubject {
  userId: string;
  tenantId: string;
  role: Role;
  siteIds: readonly string[] | null;
  familyId: string | null;
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlS: number;
}

/** Verified tokens remembered, so a client's next request skips the signature check. */
const VERIFIED_CACHE_MAX = 10_000;

/** Signs and verifies access tokens. Every failure is the same INVALID_TOKEN: no oracle. */
export class AccessTokens {
  readonly #ring: KeyRing;
  readonly #settings: TokenSettings;
  /**
   * token → claims, for tokens that passed verification: the signature check is the costliest
   * step of every request (~0.2 ms of CPU). Only verified tokens enter; an entry is used only
   * until the token's expiry. Revocation is not cached: callers check it on every request.
   */
  readonly #verified = new Map<string, AccessClaims>();

  constructor(ring: KeyRing, settings: TokenSettings) {
    this.#ring = ring;
    this.#settings = settings;
  }

  async issue(subject: AccessSubject, now = Date.now()): Promise<IssuedAccessToken> {
    const { kid, key } = this.#ring.signingKey;
    const jti = randomUUID();
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({
      tid: subject.tenantId,
      role: subject.role,
      sites: subject.siteIds ? [...subject.siteIds] : null,
      fam: subject.familyId,
      ims: now,
    })
      .setProtectedHeader({ alg: JWT_ALG, kid, typ: ACCESS_TOKEN_TYP })
      .setIssuer(this.#settings.issuer)
      .setAudience(this.#settings.audience)
      .setSubject(subject.userId)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.#settings.accessTtlS)
      .sign(key);
    return { token, jti, expiresIn: this.#settings.accessTtlS };
  }

  async verify(token: string): Promise<AccessClaims> {
    const known = this.#verified.get(token);
    if (known) {
      if (known.exp * 1000 > Date.now()) return known;
      this.#verified.delete(token);
    }
    const claims = await this.#verifySignature(token);
    // Map iteration is insertion order: dropping the first entry is a cheap FIFO bound.
    if (this.#verified.size >= VERIFIED_CACHE_MAX) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(token, claims);
    return claims;
  }

  async #verifySignature(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = await this.#ring.verificationKey(header.kid);
          if (!key) throw new VigilError('INVALID_TOKEN', 'unknown key id');
          return key;
        },
        {
          algorithms: [JWT_ALG],
          typ: ACCESS_TOKEN_TYP,
          issuer: this.#settings.issuer,
          audience: this.#settings.audience,
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
          clockTolerance: 5,
        },
      );
      if (!checkClaims(payload)) throw new VigilError('INVALID_TOKEN', 'unexpected claims');
      return payload;
    } catch (err) {
      throw new VigilError('INVALID_TOKEN', undefined, { cause: err });
    }
  }
}

/**
 * Opaque secrets (refresh tokens, invite tokens): 256 random bits, base64url, with a short
 * prefix so a leaked one is recognisable in logs and secret scanners.
 */
export function opaqueToken(prefix: 'vr' | 'vi'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Secrets are stored and looked up by SHA-256 only. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Device API key: `vk_<prefix>_<secret>`; the prefix is stored in clear to tell keys apart. */
export function newApiKey(): { key: string; prefix: string; hash: Buffer } {
  const prefix = randomBytes(6).toString('hex');
  const key = `vk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: sha256(key) };
}
