import type { ApiInvite, InviteCreateBody, InviteCreated } from '../../schemas/mod.ts';
import { VigilError, type PoolClient } from '../../schemas/mod.ts';
import { opaqueToken, sha256, writeAudit, type Principal } from '../identity/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { Table } from './table.ts';

export interface InviteRow {
  id: string;
  email: string;
  role: ApiInvite['role'];
  site_ids: string[] | null;
  created_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
  _k: string;
}

export const COLUMNS = `id, email::text AS email, role, site_ids, created_by, created_at, expires_at, accepted_at, revoked_at,
  ${timeKey('created_at')} AS _k`;
export const INVITES = new Table<InviteRow>('invites', COLUMNS, 'invite not found');

export function status(r: InviteRow, now = Date.now()): ApiInvite['status'] {
  if (r.accepted_at) return 'accepted';
  if (r.revoked_at) return 'revoked';
  return r.expires_at.getTime() <= now ? 'expired' : 'pending';
}

export function toApi(r: InviteRow): ApiInvite {
  return {
    id: r.id,
    email: r.email,
    role: r.role,
    siteIds: r.site_ids,
    status: status(r),
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    acceptedAt: iso(r.accepted_at),
  };
}

/** SQL condition per invite status (the same rules as `status` above). */
export const STATUS_SQL: Record<ApiInvite['status'], string> = {
  accepted: 'accepted_at IS NOT NULL',
  revoked: 'accepted_at IS NULL AND revoked_at IS NOT NULL',
  expired: 'accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()',
  pending: 'accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()',
};

/**
 * Create an invite in the current transaction's tenant. An earlier pending invite for the same
 * email is revoked: one live token per invitee. The token is returned once, stored hashed.
 */
export async function createInvite(
  client: PoolClient,
  tenantId: string,
  body: InviteCreateBody,
  actor: Principal | null,
  meta: { requestId: string; ip: string },
): Promise<InviteCreated> {
  // References first: another tenant's site is NOT_FOUND whatever else is wrong with the body.
  if (body.siteIds) await assertSitesVisible(client, body.siteIds);
  if (body.role === 'tenant_admin' && body.siteIds && body.siteIds.length > 0) {
    throw new VigilError('VALIDATION_FAILED', 'body/siteIds: tenant admins cannot be restricted to sites');
  }
  const siteIds = body.role === 'tenant_admin' ? null : (body.siteIds ?? null);
  const { rowCount: exists } = await client.query('SELECT 1 FROM users WHERE email = $1', [body.email]);
  if (exists) throw new VigilError('CONFLICT', 'a user with this email already exists');
  await client.query(
    `UPDATE invites SET revoked_at = now()
     WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [body.email],
  );
  const token = opaqueToken('vi');
  const { rows } = await client.query<InviteRow>(
    `INSERT INTO invites (tenant_id, email, role, site_ids, token_hash, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7))
     RETURNING ${COLUMNS}`,
    [
      tenantId,
      body.email,
      body.role,
      siteIds,
      sha256(token),
      actor?.userId ?? null,
      body.expiresInHours ?? 72,
    ],
  );
  const invite = toApi(rows[0]!);
  await writeAudit(client, {
    tenantId,
    actor,
    action: 'invite.create',
    targetType: 'invite',
    targetId: invite.id,
    after: { email: invite.email, role: invite.role, siteIds: invite.siteIds, expiresAt: invite.expiresAt },
    ...meta,
  });
  return { invite, token };
}

export interface InviteLookup {
  id: string;
  tenant_id: string;
  email: string;
  role: ApiInvite['role'];
  site_ids: string[] | null;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}
