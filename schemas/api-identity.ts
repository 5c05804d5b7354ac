import { Type, type Static } from '@sinclair/typebox';
import { NullableString, NullableTimestamp, NullableUuid, PageQuery, Timestamp, Uuid } from './http.ts';

/**
 * HTTP contract of identity and tenancy: auth, tenants, sites, users, invites, audit log.
 * Request bodies are strict (unknown fields are errors); `examples` double as the values the
 * isolation test sends when it calls every route with another tenant's ids.
 */

const Name = Type.String({ minLength: 1, maxLength: 200, examples: ['North branch'] });
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, examples: ['ops@example.com'] });
/** New passwords: long enough to resist guessing; a maximum so hashing cost stays bounded. */
const NewPassword = Type.String({ minLength: 10, maxLength: 256, examples: ['correct horse battery'] });
/** Passwords being checked: any length a user may once have chosen. */
const GivenPassword = Type.String({ minLength: 1, maxLength: 256 });
const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', examples: ['acme-foods'] });
const OpaqueToken = Type.String({ minLength: 16, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });

export const UserRole = Type.Union([
  Type.Literal('platform_admin'),
  Type.Literal('tenant_admin'),
  Type.Literal('operator'),
  Type.Literal('viewer'),
]);
export type UserRole = Static<typeof UserRole>;

/** Roles a tenant admin may hand out; platform admins are made with the CLI only. */
export const AssignableRole = Type.Union([
  Type.Literal('tenant_admin'),
  Type.Literal('operator'),
  Type.Literal('viewer'),
]);
export type AssignableRole = Static<typeof AssignableRole>;

// minItems: an empty list would be "restricted to nothing", which is no use to anyone and was
// once read as "every site"; refuse it instead of guessing.
const SiteIds = Type.Union(
  [Type.Array(Uuid, { minItems: 1, maxItems: 500, uniqueItems: true }), Type.Null()],
  { description: 'sites an operator or viewer is restricted to (at least one); null = every site' },
);

// ---------------------------------------------------------------- auth

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: GivenPassword,
    tenant: Type.Optional(
      Type.String({
        ...Slug,
        description: 'slug of the tenant to log in to; needed only when one email and password open several',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object({ refreshToken: OpaqueToken }, { additionalProperties: false });
export type RefreshBody = Static<typeof RefreshBody>;

export const LogoutBody = Type.Object(
  { refreshToken: Type.Optional(OpaqueToken) },
  { additionalProperties: false },
);
export type LogoutBody = Static<typeof LogoutBody>;

export const ChangePasswordBody = Type.Object(
  { currentPassword: GivenPassword, newPassword: NewPassword },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const SessionUser = Type.Object({
  id: Uuid,
  tenantId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: UserRole,
  siteIds: SiteIds,
});
export type SessionUser = Static<typeof SessionUser>;

export const SessionResponse = Type.Object({
  tokenType: Type.Literal('Bearer'),
  accessToken: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  refreshToken: Type.String({ description: 'single use: each refresh returns the next one' }),
  refreshExpiresIn: Type.Integer(),
  user: SessionUser,
});
export type SessionResponse = Static<typeof SessionResponse>;

export const TenantSummary = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  isPlatform: Type.Boolean(),
});

export const MeResponse = Type.Object({
  user: SessionUser,
  tenant: TenantSummary,
  actingFrom: Type.Union([Uuid, Type.Null()], {
    description: 'the platform tenant, when a platform admin acts in another tenant (X-Vigil-Tenant)',
  }),
});
export type MeResponse = Static<typeof MeResponse>;

export const SignupBody = Type.Object(
  { tenantName: Name, slug: Slug, name: Name, email: Email, password: NewPassword },
  { additionalProperties: false },
);
export type SignupBody = Static<typeof SignupBody>;

export const AcceptInviteBody = Type.Object(
  { token: OpaqueToken, name: Name, password: NewPassword },
  { additionalProperties: false },
);
export type AcceptInviteBody = Static<typeof AcceptInviteBody>;

// ---------------------------------------------------------------- tenants

export const TenantStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);

export const ApiTenant = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  status: TenantStatus,
  isPlatform: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiTenant = Static<typeof ApiTenant>;

export const TenantCreateBody = Type.Object(
  {
    name: Name,
    slug: Slug,
    ownerEmail: Type.Optional(Email),
  },
  { additionalProperties: false },
);
export type TenantCreateBody = Static<typeof TenantCreateBody>;

export const TenantUpdateBody = Type.Object(
  { name: Type.Optional(Name), status: Type.Optional(TenantStatus) },
  { additionalProperties: false, minProperties: 1 },
);
export type TenantUpdateBody = Static<typeof TenantUpdateBody>;

// ---------------------------------------------------------------- sites

export const ApiSite = Type.Object({
  id: Uuid,
  name: Type.String(),
  timezone: Type.String(),
  address: NullableString,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiSite = Static<typeof ApiSite>;

const Timezone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone',
  examples: ['Europe/Istanbul'],
});
const Address = Type.Union([Type.String({ maxLength: 500 }), Type.Null()]);

export const SiteCreateBody = Type.Object(
  { name: Name, timezone: Timezone, address: Type.Optional(Address) },
  { additionalProperties: false },
);
export type SiteCreateBody = Static<typeof SiteCreateBody>;

export const SiteUpdateBody = Type.Object(
  { name: Type.Optional(Name), timezone: Type.Optional(Timezone), address: Type.Optional(Address) },
  { additionalProperties: false, minProperties: 1 },
);
export type SiteUpdateBody = Static<typeof SiteUpdateBody>;

// ---------------------------------------------------------------- users

export const ApiUser = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: UserRole,
  siteIds: SiteIds,
  disabled: Type.Boolean(),
  lastLoginAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiUser = Static<typeof ApiUser>;

export const UserUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    role: Type.Optional(AssignableRole),
    siteIds: Type.Optional(SiteIds),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserUpdateBody = Static<typeof UserUpdateBody>;

export const UserListQuery = Type.Object(
  { ...PageQuery.properties, role: Type.Optional(UserRole), siteId: Type.Optional(Uuid) },
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuery>;

// ---------------------------------------------------------------- invites

export const InviteStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('accepted'),
  Type.Literal('revoked'),
  Type.Literal('expired'),
]);
export type InviteStatus = Static<typeof InviteStatus>;

export const ApiInvite = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: AssignableRole,
  siteIds: SiteIds,
  status: InviteStatus,
  createdBy: NullableUuid,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  acceptedAt: NullableTimestamp,
});
export type ApiInvite = Static<typeof ApiInvite>;

export const InviteCreateBody = Type.Object(
  {
    email: Email,
    role: AssignableRole,
    siteIds: Type.Optional(SiteIds),
    expiresInHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, default: 72 })),
  },
  { additionalProperties: false },
);
export type InviteCreateBody = Static<typeof InviteCreateBody>;

export const InviteCreated = Type.Object({
  invite: ApiInvite,
  token: Type.String({ description: 'shown once; the invitee accepts with it' }),
});
export type InviteCreated = Static<typeof InviteCreated>;

export const InviteListQuery = Type.Object(
  { ...PageQuery.properties, status: Type.Optional(InviteStatus) },
  { additionalProperties: false },
);
export type InviteListQuery = Static<typeof InviteListQuery>;

export const TenantCreated = Type.Object({
  tenant: ApiTenant,
  invite: Type.Union([InviteCreated, Type.Null()], {
    description: "the owner's invite, when ownerEmail was given",
  }),
});
export type TenantCreated = Static<typeof TenantCreated>;

// ---------------------------------------------------------------- audit log

export const ApiAuditEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  action: Type.String(),
  targetType: Type.String(),
  targetId: NullableString,
  actorUserId: NullableUuid,
  actorTenantId: NullableUuid,
  actorRole: NullableString,
  before: Type.Unknown(),
  after: Type.Unknown(),
  requestId: NullableString,
});
export type ApiAuditEntry = Static<typeof ApiAuditEntry>;

export const AuditListQuery = Type.Object(
  {
    ...PageQuery.properties,
    action: Type.Optional(Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)?$', maxLength: 100 })),
    targetType: Type.Optional(Type.String({ pattern: '^[a-z_]+$', maxLength: 50 })),
    targetId: Type.Optional(Type.String({ maxLength: 100 })),
    actorUserId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
export type AuditListQuery = Static<typeof AuditListQuery>;

export const TenantListQuery = Type.Object({ ...PageQuery.properties }, { additionalProperties: false });
export type TenantListQuery = Static<typeof TenantListQuery>;

export const SiteListQuery = Type.Object({ ...PageQuery.properties }, { additionalProperties: false });
export type SiteListQuery = Static<typeof SiteListQuery>;
