import { isVigilError, VigilError } from '../schemas/mod.ts';

/**
 * Map driver errors onto the registry so the consumer policy can act on them: an unreachable
 * or overloaded dependency is an outage (the whole batch is retried with backoff, without
 * limit, never split and never dead-lettered), bad data is permanent (dead-letter), anything
 * else is retried a few times.
 */
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

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function looksLikeNetwork(err: unknown): boolean {
  const code = codeOf(err);
  if (code && NETWORK_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause && cause !== err && looksLikeNetwork(cause)) return true;
  return /connection terminated|timeout exceeded when trying to connect|socket hang up|connect ECONNREFUSED|Timeout error/i.test(
    messageOf(err),
  );
}

/**
 * SQLSTATEs that say "try again" rather than "your data is wrong": a lost serialization race
 * (40001) or deadlock (40P01), a lock not granted in time (55P03), a primary that became a
 * read-only standby in a failover (25006).
 */
const PG_TRANSIENT = new Set(['40001', '40P01', '55P03', '25006']);

export function fromPgError(err: unknown, what: string): VigilError {
  if (isVigilError(err)) return err;
  const code = codeOf(err) ?? '';
  // 08 connection, 53 resources (53300 too many connections), 57 operator intervention
  // (57P01 admin shutdown), 58 system.
  if (looksLikeNetwork(err) || /^(08|53|57|58)/.test(code)) {
    return new VigilError('DEPENDENCY_UNAVAILABLE', `${what}: PostgreSQL unavailable`, { cause: err });
  }
  if (PG_TRANSIENT.has(code)) {
    return new VigilError('DEPENDENCY_UNAVAILABLE', `${what}: PostgreSQL transient failure (${code})`, {
      cause: err,
    });
  }
  // 22 data exception, 23 integrity violation: the data is at fault, retrying cannot help.
  if (/^(22|23)/.test(code)) {
    return new VigilError('VALIDATION_FAILED', `${what}: ${messageOf(err)}`, { cause: err });
  }
  return new VigilError('INTERNAL', `${what}: ${messageOf(err)}`, { cause: err });
}

/**
 * ClickHouse codes of an overloaded or briefly unable server, not of bad input: TIMEOUT_EXCEEDED
 * (159), TOO_MANY_SIMULTANEOUS_QUERIES (202), SOCKET_TIMEOUT (209), NETWORK_ERROR (210),
 * MEMORY_LIMIT_EXCEEDED (241), TABLE_IS_READ_ONLY (242), NOT_ENOUGH_SPACE (243), TOO_MANY_PARTS
 * (252: merges behind inserts).
 */
const CH_TRANSIENT = new Set([159, 202, 209, 210, 241, 242, 243, 252]);

export function fromClickHouseError(err: unknown, what: string): VigilError {
  if (isVigilError(err)) return err;
  if (looksLikeNetwork(err)) {
    return new VigilError('DEPENDENCY_UNAVAILABLE', `${what}: ClickHouse unavailable`, { cause: err });
  }
  const code = Number(codeOf(err));
  if (CH_TRANSIENT.has(code)) {
    return new VigilError(
      'DEPENDENCY_UNAVAILABLE',
      `${what}: ClickHouse overloaded (${code}): ${messageOf(err)}`,
      {
        cause: err,
      },
    );
  }
  // ClickHouse server errors carry a numeric code: 26/27/38/41/53/70/72/117 are parse and type errors of the input.
  if ([26, 27, 38, 41, 53, 70, 72, 117].includes(code)) {
    return new VigilError('VALIDATION_FAILED', `${what}: ${messageOf(err)}`, { cause: err });
  }
  return new VigilError('INTERNAL', `${what}: ${messageOf(err)}`, { cause: err });
}

export function fromNatsError(err: unknown, what: string): VigilError {
  if (isVigilError(err)) return err;
  return new VigilError('DEPENDENCY_UNAVAILABLE', `${what}: ${messageOf(err)}`, { cause: err });
}
