import { VigilError } from '../../schemas/mod.ts';

/** Readable conflicts for the unique constraints a caller can run into. */
const CONFLICTS: Record<string, string> = {
  tenants_slug_key: 'a tenant with this slug already exists',
  users_email_key: 'a user with this email already exists',
  users_tenant_email_key: 'a user with this email already exists',
  sites_tenant_id_name_key: 'a site with this name already exists',
  equipment_tenant_id_serial_key: 'equipment with this serial already exists',
  alert_rules_scope_key_uq: 'a rule with this key already exists in this scope',
  alerts_open_uq: 'the unit already has an open alert for this rule',
};

/**
 * Map a PostgreSQL error to a registry error. A row-level-security violation or a foreign key
 * to a row the caller cannot see becomes NOT_FOUND: the caller learns nothing about rows of
 * other tenants. Anything unexpected stays INTERNAL (logged, never shown).
 */
export function fromDbError(err: unknown): VigilError {
  if (err instanceof VigilError) return err;
  const e = err as { code?: string; constraint?: string };
  switch (e.code) {
    case '23505':
      return new VigilError('CONFLICT', CONFLICTS[e.constraint ?? ''] ?? 'already exists', { cause: err });
    case '23503':
    case '42501':
      return new VigilError('NOT_FOUND', undefined, { cause: err });
    case '23514':
    case '22P02':
    case '22007':
    case '22008':
    case '22003':
      return new VigilError('VALIDATION_FAILED', 'value rejected by the database', { cause: err });
    default:
      // Connection failures (Node socket errors, SQLSTATE classes 08 and 57P) are transient.
      if (e.code && (/^E[A-Z]+$/.test(e.code) || e.code.startsWith('08') || e.code.startsWith('57P'))) {
        return new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
      }
      return new VigilError('INTERNAL', undefined, { cause: err });
  }
}

/** Run a database call and rethrow its failure as a registry error. */
export async function db<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromDbError(err);
  }
}
