export { identityPlugin, keysDir } from './plugin.ts';
export { homeTenant, revocableClaims, sessionUser, type UserRow } from './identity.ts';
export { principalOf, requireRole, roleAtLeast, scopeOf } from './guards.ts';
export { writeAudit, type AuditRecord } from './audit.ts';
export { db, fromDbError } from './db-errors.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { AccessTokens, newApiKey, opaqueToken, sha256 } from './tokens.ts';
export { KeyRing, generateKey } from './keys.ts';
export {
  assertNotPlatformSlug,
  insertUser,
  provisionPlatformAdmin,
  provisionTenant,
  type TenantRow,
} from './provisioning.ts';
export type { Principal, Role } from './types.ts';
export { concerns, type RevocableClaims } from './revocation.ts';
