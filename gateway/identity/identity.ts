import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import {
  VigilError,
  withTenant,
  type PoolClient,
  type SessionResponse,
  type SessionUser,
} from '../../schemas/mod.ts';
import { publishControl } from '../../streams/mod.ts';
import type { GatewayDeps } from '../deps.ts';
import { writeAudit } from './audit.ts';
import type { KeyRing } from './keys.ts';
import { verifyPassword } from './passwords.ts';
import { RateLimiter, type Limit, type RateLimits } from './rate-limit.ts';
import { Revocations, type RevocableClaims } from './revocation.ts';
import { AccessTokens, opaqueToken, sha256 } from './tokens.ts';
import type { Principal, Role } from './types.ts';

export type IdentityDeps = Pick<GatewayDeps, 'config' | 'log' | 'db' | 'redis' | 'nc' | 'names'>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BEARER_RE = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

/** Header with which a platform admin acts in another tenant (audited on every use). */
export const ACT_AS_HEADER = 'x-vigil-tenant';

export interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  role: Role;
  site_ids: string[] | null;
  disabled_at?: Date | null;
}

/** An account an email names: one per tenant the address belongs to. */
export interface LoginAccount {
  id: string;
  tenantId: string;
  tenantSlug: string;
  passwordHash: string;
  disabled: boolean;
}

/** What revocation checks of a principal's token; null when it did not come from a verified token. */
export function revocableClaims(p: Principal): RevocableClaims | null {
  if (!p.tokenId || p.tokenIssuedMs === undefined) return null;
  return {
    jti: p.tokenId,
    fam: p.familyId ?? null,
    sub: p.userId,
    // The token's own tenant: for a platform admin acting elsewhere, the home tenant.
    tid: homeTenant(p),
    ims: p.tokenIssuedMs,
  };
}

/** A login attempt after the account lookup, before the password check. */
export interface LoginAttempt {
  /** Subject of the per-account rate limit. */
  limitKey: string;
  /** Every account of the email, oldest first; empty when there is none. */
  accounts: LoginAccount[];
}

interface RefreshRow {
  id: string;
  tenant_id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export function sessionUser(u: UserRow): SessionUser {
  return { id: u.id, tenantId: u.tenant_id, email: u.email, name: u.name, role: u.role, siteIds: u.site_ids };
}

/** The tenant a principal's own user row, sessions and tokens live in. */
export function homeTenant(p: Principal): string {
  return p.actingFrom ?? p.tenantId;
}

/**
 * Everything about proving who a caller is: access tokens, refresh-token sessions, revocation
 * and the rate limits of the endpoints that handle credentials.
 */
export class Identity {
  readonly tokens: AccessTokens;
  readonly revocations: Revocations;
  readonly limiter: RateLimiter;
  readonly limits: RateLimits;
  readonly refreshTtlS: number;
  readonly #deps: IdentityDeps;
  readonly #decoyHash: string;

  constructor(deps: IdentityDeps, ring: KeyRing, limits: RateLimits, decoyHash: string) {
    const { config } = deps;
    const prefix = `vigil:${config.VIGIL_NS || '-'}:`;
    this.#deps = deps;
    this.#decoyHash = decoyHash;
    this.tokens = new AccessTokens(ring, {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      accessTtlS: config.JWT_ACCESS_TTL_S,
    });
    this.revocations = new Revocations(deps.redis, prefix, config.JWT_ACCESS_TTL_S, (r) => {
      // Best effort: a stream that misses it still re-checks at its next heartbeat.
      publishControl(deps.nc, deps.names, { topic: 'authRevoked', body: r }).catch((err: unknown) =>
        deps.log.warn({ err, scope: r.scope }, 'cannot announce a revocation'),
      );
    });
    this.limiter = new RateLimiter(deps.redis, prefix);
    this.limits = limits;
    this.refreshTtlS = config.JWT_REFRESH_TTL_S;
  }

  /** Count a hit for each subject; 429 RATE_LIMITED (with Retry-After on `reply`) when over. */
  async rateLimit(
    reply: { header(name: string, value: string): unknown },
    checks: { bucket: string; subject: string; limit: Limit }[],
  ): Promise<void> {
    try {
      await this.limiter.hit(checks);
    } catch (err) {
      if (err instanceof VigilError && err.code === 'RATE_LIMITED') {
        const details = err.details as { retryAfterS?: number } | undefined;
        reply.header('retry-after', String(details?.retryAfterS ?? 1));
      }
      throw err;
    }
  }

  // ------------------------------------------------------------ access tokens

  /** Verify the bearer token (and an act-as header); the request's principal, or a 401/403/404. */
  async authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    if (!header) throw new VigilError('UNAUTHENTICATED');
    const m = BEARER_RE.exec(header);
    if (!m?.[1]) throw new VigilError('INVALID_TOKEN');
    const claims = await this.tokens.verify(m[1]);
    if (await this.revocations.isRevoked(claims)) throw new VigilError('INVALID_TOKEN');
    const principal: Principal = {
      userId: claims.sub,
      tenantId: claims.tid,
      role: claims.role,
      siteIds: claims.sites,
      actingFrom: null,
      familyId: claims.fam,
      tokenId: claims.jti,
      tokenExp: claims.exp,
      tokenIssuedMs: claims.ims,
    };
    const actAs = request.headers[ACT_AS_HEADER];
    if (actAs === undefined) return principal;
    if (principal.role !== 'platform_admin') {
      throw new VigilError('FORBIDDEN', 'only platform admins may act in another tenant');
    }
    if (typeof actAs !== 'string' || !UUID_RE.test(actAs)) {
      throw new VigilError('VALIDATION_FAILED', `${ACT_AS_HEADER} must be a tenant id`);
    }
    const target = actAs.toLowerCase();
    if (target === principal.tenantId) return principal;
    return this.#actAs(request, principal, target);
  }

  /**
   * Whether the token a principal was authenticated with has been revoked since (logout, refresh
   * reuse, a user or tenant cutoff): the check authenticate() makes, for requests that outlive
   * it (event streams). One Redis round trip; Redis down → DEPENDENCY_UNAVAILABLE.
   * A principal that did not come from a verified token cannot be re-checked: it counts as revoked.
   */
  async isRevoked(p: Principal): Promise<boolean> {
    const claims = revocableClaims(p);
    return claims === null || this.revocations.isRevoked(claims);
  }

  /** The explicit, audited cross-tenant path: every request with the header leaves an entry. */
  async #actAs(request: FastifyRequest, principal: Principal, target: string): Promise<Principal> {
    const acting: Principal = {
      ...principal,
      tenantId: target,
      siteIds: null,
      actingFrom: principal.tenantId,
    };
    const found = await withTenant(this.#deps.db, { tenantId: target }, async (c) => {
      const { rowCount } = await c.query('SELECT 1 FROM tenants WHERE id = $1', [target]);
      if (!rowCount) return false;
      await writeAudit(c, {
        tenantId: target,
        actor: acting,
        action: 'platform.act_as',
        targetType: 'request',
        targetId: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`.slice(0, 200),
        requestId: request.id,
        ip: request.ip,
      });
      return true;
    });
    if (!found) throw new VigilError('NOT_FOUND', 'tenant not found');
    request.log.info(
      { userId: principal.userId, tenantId: target, from: principal.tenantId },
      'platform admin acting in tenant',
    );
    return acting;
  }

  // ------------------------------------------------------------ sessions

  /** Open a session in the caller's tenant transaction: a new refresh family (or the next token of one). */
  async startSession(
    client: PoolClient,
    user: UserRow,
    familyId: string = randomUUID(),
  ): Promise<SessionResponse> {
    const refreshToken = opaqueToken('vr');
    await client.query(
      `INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [user.tenant_id, user.id, familyId, sha256(refreshToken), this.refreshTtlS],
    );
    const access = await this.tokens.issue({
      userId: user.id,
      tenantId: user.tenant_id,
      role: user.role,
      siteIds: user.site_ids,
      familyId,
    });
    return {
      tokenType: 'Bearer',
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresIn: this.refreshTtlS,
      user: sessionUser(user),
    };
  }

  /**
   * Who an email names, before any password is checked: an account in each tenant the address
   * belongs to. `limitKey` is what the per-account login limit counts: the user id when there is
   * exactly one account, so every spelling PostgreSQL's citext matches to it (case, and folds
   * such as 'İ' → 'i' that JavaScript's toLowerCase does not make) shares one bucket; otherwise
   * the email as citext compares it, lower()ed by the database itself.
   */
  async findLogin(email: string): Promise<LoginAttempt> {
    const { rows } = await this.#deps.db.query<{
      email_key: string;
      id: string | null;
      tenant_id: string;
      tenant_slug: string;
      password_hash: string;
      disabled: boolean;
    }>(
      `SELECT lower($1::text) AS email_key, u.id, u.tenant_id, u.tenant_slug, u.password_hash, u.disabled
       FROM (SELECT 1) AS one LEFT JOIN auth_user_by_email($1) AS u ON true`,
      [email],
    );
    const accounts = rows.flatMap((r) =>
      r.id
        ? [
            {
              id: r.id,
              tenantId: r.tenant_id,
              tenantSlug: r.tenant_slug,
              passwordHash: r.password_hash,
              disabled: r.disabled,
            },
          ]
        : [],
    );
    const only = accounts.length === 1 ? accounts[0] : undefined;
    return { limitKey: only ? `user:${only.id}` : `email:${rows[0]?.email_key ?? email}`, accounts };
  }

  /**
   * Check the password of an attempt found by findLogin (after its rate limit) and open a
   * session in the one account it opens; `tenant` (a slug) narrows the accounts first. When the
   * password opens several, TENANT_REQUIRED: only someone who holds that password learns so.
   */
  async login(attempt: LoginAttempt, password: string, tenant?: string): Promise<SessionResponse> {
    const accounts = attempt.accounts.filter((a) => tenant === undefined || a.tenantSlug === tenant);
    // Same work whether or not the email exists: timing tells an attacker nothing.
    if (accounts.length === 0) await verifyPassword(this.#decoyHash, password);
    const opened: LoginAccount[] = [];
    for (const a of accounts)
      if ((await verifyPassword(a.passwordHash, password)) && !a.disabled) opened.push(a);
    const found = opened[0];
    if (!found) throw new VigilError('INVALID_CREDENTIALS');
    if (opened.length > 1)
      throw new VigilError('TENANT_REQUIRED', 'this email and password open accounts in several tenants', {
        details: { tenants: opened.map((a) => a.tenantSlug) },
      });
    return withTenant(this.#deps.db, { tenantId: found.tenantId }, async (c) => {
      const { rows: users } = await c.query<UserRow>(
        `UPDATE users SET last_login_at = now() WHERE id = $1
         RETURNING id, tenant_id, email::text AS email, name, role, site_ids`,
        [found.id],
      );
      const user = users[0];
      if (!user) throw new VigilError('INVALID_CREDENTIALS');
      // Expired tokens are useless for reuse detection too; each login sweeps the user's.
      await c.query('DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < now()', [user.id]);
      return this.startSession(c, user);
    });
  }

  /**
   * Spend a refresh token and return the next session of its family. A token that was
   * already spent means a copy exists: the whole family is revoked, the caller gets 401.
   */
  async refresh(token: string, request: FastifyRequest): Promise<SessionResponse> {
    const { rows } = await this.#deps.db.query<RefreshRow>('SELECT * FROM auth_refresh_token($1)', [
      sha256(token),
    ]);
    const r = rows[0];
    if (!r || r.revoked_at) throw new VigilError('INVALID_TOKEN');
    if (r.used_at) {
      await this.#revokeFamilyForReuse(r, request);
      throw new VigilError('INVALID_TOKEN');
    }
    if (r.expires_at.getTime() <= Date.now()) throw new VigilError('INVALID_TOKEN');
    const outcome = await withTenant(this.#deps.db, { tenantId: r.tenant_id }, async (c) => {
      const spent = await c.query(
        `UPDATE refresh_tokens SET used_at = now()
         WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
        [r.id],
      );
      // Lost a race against another use of the same token: that is reuse too.
      if (!spent.rowCount) return 'reused' as const;
      const { rows: users } = await c.query<UserRow>(
        `SELECT id, tenant_id, email::text AS email, name, role, site_ids, disabled_at FROM users WHERE id = $1`,
        [r.user_id],
      );
      const user = users[0];
      if (!user || user.disabled_at) {
        await c.query(
          'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
          [r.family_id],
        );
        return 'disabled' as const;
      }
      return this.startSession(c, user, r.family_id);
    });
    if (outcome === 'reused') {
      await this.#revokeFamilyForReuse(r, request);
      throw new VigilError('INVALID_TOKEN');
    }
    if (outcome === 'disabled') throw new VigilError('INVALID_TOKEN');
    return outcome;
  }

  async #revokeFamilyForReuse(r: RefreshRow, request: FastifyRequest): Promise<void> {
    await withTenant(this.#deps.db, { tenantId: r.tenant_id }, async (c) => {
      const { rowCount } = await c.query(
        'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
        [r.family_id],
      );
      await writeAudit(c, {
        tenantId: r.tenant_id,
        actor: null,
        action: 'auth.refresh_reuse',
        targetType: 'user',
        targetId: r.user_id,
        after: { familyId: r.family_id, revokedTokens: rowCount ?? 0 },
        requestId: request.id,
        ip: request.ip,
      });
    });
    // Access tokens already minted from the family die too, not just its refresh tokens.
    await this.revocations.revokeFamily(r.family_id);
    request.log.warn(
      { tenantId: r.tenant_id, userId: r.user_id, familyId: r.family_id },
      'refresh token reused; family revoked',
    );
  }

  /** End the caller's session: its refresh family (and another one it names) and this access token. */
  async logout(principal: Principal, refreshToken: string | undefined): Promise<void> {
    const tenantId = homeTenant(principal);
    const families = new Set<string>();
    if (principal.familyId) families.add(principal.familyId);
    if (refreshToken) {
      const { rows } = await this.#deps.db.query<RefreshRow>('SELECT * FROM auth_refresh_token($1)', [
        sha256(refreshToken),
      ]);
      const r = rows[0];
      // Only the caller's own sessions: a token of someone else is ignored, not revoked.
      if (r && r.tenant_id === tenantId && r.user_id === principal.userId) families.add(r.family_id);
    }
    if (families.size > 0) {
      await withTenant(this.#deps.db, { tenantId }, (c) =>
        c.query(
          'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = ANY($1::uuid[]) AND revoked_at IS NULL',
          [[...families]],
        ),
      );
    }
    await Promise.all([...families].map((f) => this.revocations.revokeFamily(f)));
    if (principal.tokenId && principal.tokenExp)
      await this.revocations.revokeToken(principal.tokenId, principal.tokenExp);
  }

  /** Revoke every session of a user (password change, disable, delete) and void their access tokens. */
  async endAllSessions(client: PoolClient, userId: string): Promise<void> {
    await client.query(
      'UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL',
      [userId],
    );
  }
}
