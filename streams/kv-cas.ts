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
function putAtRevision(kv: KV, key: string, value: string, revision: number): Promise<number> {
  return revision === 0 ? kv.create(key, value) : kv.update(key, value, revision);
}

/**
 * Where a compare-and-set writer stands on one key: the revision its next write expects, and
 * the values of its writes whose outcome it never learnt — the request timed out or the
 * connection dropped, and the server may have applied them. Without the latter, a write that
 * landed while its reply was lost makes the writer's next write conflict with its own, and the
 * writer takes itself for another owner (a partition owner fences itself out under load).
 */
export interface CasPosition {
  revision: number;
  /** Values written with no reply, newest last; cleared by the next write that gets one. */
  unsure?: string[] | undefined;
}

/** Writes whose outcome is unknown that are remembered; past that, the oldest is forgotten. */
const UNSURE_KEPT = 8;

/**
 * `putAtRevision` at `at`, moving `at` on. A conflict whose stored value is one of this
 * writer's unanswered writes is that write having landed: its revision is adopted and the write
 * made again. Any other conflict is thrown (see isRevisionConflict); any other error leaves the
 * value recorded as unsure and is thrown.
 */
export async function putAtPosition(kv: KV, key: string, value: string, at: CasPosition): Promise<void> {
  for (let adopted = false; ; adopted = true) {
    try {
      at.revision = await putAtRevision(kv, key, value, at.revision);
      at.unsure = undefined;
      return;
    } catch (err) {
      if (!isRevisionConflict(err)) {
        at.unsure = [...(at.unsure ?? []), value].slice(-UNSURE_KEPT);
        throw err;
      }
      if (adopted || !at.unsure) throw err;
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT' || !at.unsure.includes(entry.string())) throw err;
      at.revision = entry.revision;
      at.unsure = undefined;
    }
  }
}
