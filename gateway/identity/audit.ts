import type { PoolClient } from '../../schemas/mod.ts';
import type { Principal } from './types.ts';

export interface AuditRecord {
  /** The tenant the change happened in (the transaction's tenant: RLS checks it). */
  tenantId: string;
  actor: Pick<Principal, 'userId' | 'tenantId' | 'role' | 'actingFrom'> | null;
  /** `<resource>.<verb>`, e.g. `user.update`, `equipment.api_key_rotate`. */
  action: string;
  targetType: string;
  targetId: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  ip?: string | null;
}

/**
 * Append one audit entry in the caller's transaction, so the entry exists exactly when the
 * change does. The app role may insert and read audit rows, never change or delete them.
 */
export async function writeAudit(client: PoolClient, r: AuditRecord): Promise<void> {
  await client.query(
    `INSERT INTO audit_log (tenant_id, actor_user_id, actor_tenant_id, actor_role, action, target_type, target_id,
                            before, after, request_id, ip)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      r.tenantId,
      r.actor?.userId ?? null,
      r.actor ? (r.actor.actingFrom ?? r.actor.tenantId) : null,
      r.actor?.role ?? null,
      r.action,
      r.targetType,
      r.targetId,
      r.before === undefined ? null : JSON.stringify(r.before),
      r.after === undefined ? null : JSON.stringify(r.after),
      r.requestId ?? null,
      r.ip ?? null,
    ],
  );
}
