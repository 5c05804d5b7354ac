import type { ApiUser } from '../../schemas/mod.ts';
import { VigilError, type PoolClient } from '../../schemas/mod.ts';
import { type Principal, type Role } from '../identity/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { Table } from './table.ts';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  site_ids: string[] | null;
  disabled_at: Date | null;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const COLUMNS = `id, email::text AS email, name, role, site_ids, disabled_at, last_login_at, created_at, updated_at,
  ${timeKey('created_at')} AS _k`;
export const USERS = new Table<UserRow>('users', COLUMNS, 'user not found');

export function toApi(r: UserRow): ApiUser {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    siteIds: r.site_ids,
    disabled: r.disabled_at !== null,
    lastLoginAt: iso(r.last_login_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function summary(r: UserRow): Record<string, unknown> {
  return { name: r.name, role: r.role, siteIds: r.site_ids, disabled: r.disabled_at !== null };
}

export async function lockUser(c: PoolClient, id: string, caller: Principal): Promise<UserRow> {
  const row = await USERS.get(c, id, true);
  // Platform admins are managed with the CLI (or by another platform admin), never by a tenant admin.
  if (row.role === 'platform_admin' && caller.role !== 'platform_admin') {
    throw new VigilError('FORBIDDEN', 'platform admins cannot be changed here');
  }
  return row;
}

/** A tenant never loses its last active administrator (it could not invite anyone again). */
export async function assertAdminRemains(c: PoolClient): Promise<void> {
  const { rows } = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users
     WHERE role IN ('tenant_admin', 'platform_admin') AND disabled_at IS NULL`,
  );
  if ((rows[0]?.n ?? 0) === 0)
    throw new VigilError('INVALID_STATE', 'the tenant must keep at least one active admin');
}

/** A user goes only while the tenant keeps an active admin. */
export async function deleteUser(c: PoolClient, before: UserRow): Promise<void> {
  await USERS.delete(c, before.id);
  await assertAdminRemains(c);
}
