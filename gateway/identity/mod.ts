export { identityPlugin, keysDir, type IdentityPluginOptions } from './plugin.ts';
export {
  Identity,
  ACT_AS_HEADER,
  homeTenant,
  revocableClaims,
  sessionUser,
  type IdentityDeps,
  type UserRow,
} from './identity.ts';
export { principalOf, requireRole, roleAtLeast, scopeOf } from './guards.ts';
export { writeAudit, type AuditRecord } from './audit.ts';
export { db, fromDbError } from './db-errors.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export {
  AccessTokens,
  newApiKey,
  opaqueToken,
  sha256,
  ACCESS_TOKEN_TYP,
  type AccessClaims,
} from './tokens.ts';
export { KeyRing, generateKey, JWT_ALG, type KeyRingOptions } from './keys.ts';
export { DEFAULT_RATE_LIMITS, type Limit, type RateLimits } from './rate-limit.ts';
export {
  assertNotPlatformSlug,
  insertTenant,
  insertUser,
  provisionPlatformAdmin,
  provisionTenant,
  type NewUser,
  type ProvisionedTenant,
  type TenantRow,
} from './provisioning.ts';
export type { Principal, Role } from './types.ts';
export { concerns, type RevocableClaims, type RevocationScope } from './revocation.ts';
