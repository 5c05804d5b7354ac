import { fromPgError, type VigilError } from '../../schemas/mod.ts';

/**
 * A PostgreSQL failure as a client sees it: the shared mapping (schemas/pg-errors.ts) with
 * request semantics — a unique violation is CONFLICT, a foreign key to a row the caller cannot
 * see (or an RLS refusal) is NOT_FOUND, anything unexpected stays INTERNAL (logged, never shown).
 */
export function fromDbError(err: unknown): VigilError {
  return fromPgError(err, { request: true });
}

/** Run a database call and rethrow its failure as a registry error. */
export async function db<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromDbError(err);
  }
}
