import { isVigilError, looksLikeNetwork, VigilError } from '../schemas/mod.ts';

/**
 * Map driver errors onto the registry so the consumer policy can act on them: an unreachable
 * or overloaded dependency is an outage (the whole batch is retried with backoff, without
 * limit, never split and never dead-lettered), bad data is permanent (dead-letter), anything
 * else is retried a few times. PostgreSQL's mapping is shared with the gateway (schemas/).
 */
export { fromPgError } from '../schemas/mod.ts';

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
