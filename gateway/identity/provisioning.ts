import { randomUUID } from 'node:crypto';
import { VigilError, withTenant, type Pool, type PoolClient } from '../../schemas/mod.ts';
import { writeAudit, type AuditRecord } from './audit.ts';
import { db } from './db-errors.ts';
import type { UserRow } from './identity.ts';
import { hashPassword } from './passwords.ts';
import type { Role } from './types.ts';

export interface TenantRow {
  id: string;
  name: string;
  slug: string;
  status: 'active' | 'suspended';
  is_platform: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface NewUser {
  email: string;
  name: string;
  password: string;
  role: Role;
  siteIds?: string[] | null;
}

const PLATFORM_TENANT = { name: 'Vigil platform', slug: 'platform' };

/**
 * Insert a tenant from inside a transaction whose tenant is already set to `id`: the tenants
 * policy (id = current tenant) admits exactly that row, so creation needs no cross-tenant
 * privilege.
 */
export async function insertTenant(
  client: PoolClient,
  id: string,
  t: { name: string; slug: string; isPlatform?: boolean },
): Promise<TenantRow> {
  const { rows } = await client.query<TenantRow>(
    `INSERT INTO tenants (id, name, slug, is_platform) VALUES ($1, $2, $3, $4) RETURNING *`,
    [id, t.name, t.slug, t.isPlatform ?? false],
  );
  return rows[0]!;
}

export async function insertUser(client: PoolClient, tenantId: string, u: NewUser): Promise<UserRow> {
  const passwordHash = await hashPassword(u.password);
  const { rows } = await client.query<UserRow>(
    `INSERT INTO users (tenant_id, email, name, password_hash, role, site_ids)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, tenant_id, email::text AS email, name, role, site_ids`,
    [tenantId, u.email, u.name, passwordHash, u.role, u.siteIds ?? null],
  );
  return rows[0]!;
}

export interface ProvisionedTenant {
  tenant: TenantRow;
  owner: UserRow | null;
}

/**
 * Create a tenant and, optionally, its first tenant admin, in one transaction (the CLI,
 * signup, and the platform admin's POST /v1/tenants). `client` continues in the new tenant's
 * transaction when the caller wants to do more there (open a session, create an invite).
 */
export async function provisionTenant<T = ProvisionedTenant>(
  pool: Pool,
  input: { name: string; slug: string; owner?: Omit<NewUser, 'role'> },
  audit: Pick<AuditRecord, 'actor' | 'requestId' | 'ip'>,
  then?: (client: PoolClient, created: ProvisionedTenant) => Promise<T>,
): Promise<T> {
  const id = randomUUID();
  return db(() =>
    withTenant(pool, { tenantId: id }, async (client) => {
      const tenant = await insertTenant(client, id, input);
      const owner = input.owner
        ? await insertUser(client, id, { ...input.owner, role: 'tenant_admin' })
        : null;
      await writeAudit(client, {
        ...audit,
        tenantId: id,
        action: 'tenant.create',
        targetType: 'tenant',
        targetId: id,
        after: {
          name: tenant.name,
          slug: tenant.slug,
          owner: owner ? { id: owner.id, email: owner.email } : null,
        },
      });
      const created = { tenant, owner };
      return then ? then(client, created) : (created as T);
    }),
  );
}

/** Create a platform admin, and the platform tenant they live in when there is none yet. */
export async function provisionPlatformAdmin(
  pool: Pool,
  user: Omit<NewUser, 'role' | 'siteIds'>,
): Promise<{ tenantId: string; user: UserRow }> {
  // Two first platform admins created at once race to create the platform tenant; the loser
  // finds the winner's on its second pass.
  for (let attempt = 1; ; attempt++) {
    try {
      return await createPlatformAdmin(pool, user);
    } catch (err) {
      const constraint = ((err as VigilError).cause as { constraint?: string } | undefined)?.constraint;
      const lostRace = constraint === 'tenants_one_platform_uq' || constraint === 'tenants_slug_key';
      if (!lostRace || attempt >= 3) throw err;
    }
  }
}

async function createPlatformAdmin(
  pool: Pool,
  user: Omit<NewUser, 'role' | 'siteIds'>,
): Promise<{ tenantId: string; user: UserRow }> {
  const existing =
    (await pool.query<{ id: string | null }>('SELECT platform_tenant_id() AS id')).rows[0]?.id ?? null;
  const tenantId = existing ?? randomUUID();
  return db(() =>
    withTenant(pool, { tenantId }, async (client) => {
      if (!existing) {
        await insertTenant(client, tenantId, { ...PLATFORM_TENANT, isPlatform: true });
        await writeAudit(client, {
          tenantId,
          actor: null,
          action: 'tenant.create',
          targetType: 'tenant',
          targetId: tenantId,
          after: { ...PLATFORM_TENANT, isPlatform: true },
        });
      }
      const created = await insertUser(client, tenantId, { ...user, role: 'platform_admin' });
      await writeAudit(client, {
        tenantId,
        actor: null,
        action: 'user.create',
        targetType: 'user',
        targetId: created.id,
        after: { email: created.email, role: created.role, via: 'cli' },
      });
      return { tenantId, user: created };
    }),
  );
}

/** Guard for callers that must not create a second platform tenant by accident. */
export function assertNotPlatformSlug(slug: string): void {
  if (slug === PLATFORM_TENANT.slug) throw new VigilError('CONFLICT', 'this slug is reserved');
}
