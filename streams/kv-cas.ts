import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

/**
 * Compare-and-set writes to a KV bucket: the write succeeds only if the key is still at the
 * revision the writer last saw, so a writer that lost ownership (a fenced partition owner)
 * cannot overwrite what the new owner wrote.
 */

/** The key moved on since the revision the writer expected. */
export function isRevisionConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * Write `value` if `key` is still at `revision` (0: the key must not exist, or be deleted).
 * Returns the new revision; throws a JetStream API error that `isRevisionConflict` recognises
 * when someone else wrote in between.
 */
export function putAtRevision(kv: KV, key: string, value: string, revision: number): Promise<number> {
  return revision === 0 ? kv.create(key, value) : kv.update(key, value, revision);
}
