import { isVigilError, VigilError } from './errors.ts';

/**
 * The one mapping of PostgreSQL (node-postgres) failures onto the error registry, shared by the
 * gateway and the stream consumers. Retryability is the same for both: an unreachable,
 * overloaded or briefly unable database is DEPENDENCY_UNAVAILABLE (503, retried; an outage to
 * the consumer policy), whoever asked.
 */

/** Socket-level failures of the driver or the runtime: the server was not reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * SQLSTATEs that say "try again" rather than "your data is wrong": a lost serialization race
 * (40001) or deadlock (40P01), a lock not granted in time (55P03), a primary that became a
 * read-only standby in a failover (25006).
 */
const TRANSIENT = new Set(['40001', '40P01', '55P03', '25006']);

/** Readable conflicts for the unique constraints a client can run into. */
const CONFLICTS: Record<string, string> = {
  tenants_slug_key: 'a tenant with this slug already exists',
  users_email_key: 'a user with this email already exists',
  sites_tenant_id_name_key: 'a site with this name already exists',
  equipment_tenant_id_serial_key: 'equipment with this serial already exists',
  alert_rules_scope_key_uq: 'a rule with this key already exists in this scope',
  alerts_open_uq: 'the unit already has an open alert for this rule',
};

export function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A failure to reach the server (this error or its cause), by code or by the driver's words. */
export function looksLikeNetwork(err: unknown): boolean {
  const code = errorCodeOf(err);
  if (code && NETWORK_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause && cause !== err && looksLikeNetwork(cause)) return true;
  return /connection terminated|timeout exceeded when trying to connect|socket hang up|connect ECONNREFUSED|Timeout error/i.test(
    messageOf(err),
  );
}

export interface PgErrorContext {
  /** What was being done ("inserting telemetry"): prefixed to the message, for the log. */
  what?: string;
  /**
   * The failure answers a client's request about resources. A unique violation is then a
   * CONFLICT with a readable message, and a foreign key to a row the caller cannot see (or a
   * row-level-security refusal) is NOT_FOUND: the caller learns nothing about other tenants.
   * Without it (a stream writer), any integrity violation means the message's data is at
   * fault: VALIDATION_FAILED, dead-lettered.
   */
  request?: boolean;
}

/**
 * Map a PostgreSQL failure to a registry error; a VigilError passes through unchanged. A string
 * context is `what` alone (a stream writer).
 */
export function fromPgError(err: unknown, context: string | PgErrorContext = {}): VigilError {
  if (isVigilError(err)) return err;
  const ctx = typeof context === 'string' ? { what: context } : context;
  const code = errorCodeOf(err) ?? '';
  const said = (text: string): string => (ctx.what ? `${ctx.what}: ${text}` : text);
  const opts = { cause: err };
  // 08 connection, 53 resources (53300 too many connections), 57 operator intervention
  // (57P01 admin shutdown), 58 system.
  if (looksLikeNetwork(err) || /^(08|53|57|58)/.test(code))
    return new VigilError('DEPENDENCY_UNAVAILABLE', said('PostgreSQL unavailable'), opts);
  if (TRANSIENT.has(code))
    return new VigilError('DEPENDENCY_UNAVAILABLE', said(`PostgreSQL transient failure (${code})`), opts);
  if (ctx.request) {
    const constraint = (err as { constraint?: unknown }).constraint;
    if (code === '23505')
      return new VigilError('CONFLICT', CONFLICTS[String(constraint)] ?? 'already exists', opts);
    if (code === '23503' || code === '42501') return new VigilError('NOT_FOUND', undefined, opts);
    // The message is the client's to read: never the SQL or the server's words.
    if (/^(22|23)/.test(code))
      return new VigilError('VALIDATION_FAILED', 'value rejected by the database', opts);
    return new VigilError('INTERNAL', ctx.what, opts);
  }
  // 22 data exception, 23 integrity violation: the data is at fault, retrying cannot help.
  if (/^(22|23)/.test(code)) return new VigilError('VALIDATION_FAILED', said(messageOf(err)), opts);
  return new VigilError('INTERNAL', said(messageOf(err)), opts);
}
