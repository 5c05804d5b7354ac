import type { AlertEvent, AlertEventData, AlertEventType, Severity } from '../../schemas/mod.ts';

/**
 * What an alert row says, as a pure function of the set of its events — never of the order
 * they reached the sink in. Events are delivered at least once and, across a crash or several
 * sink nodes, in any order; folding the set in the order the actor emitted them makes every
 * arrival order end in the row an in-order run writes.
 *
 * The emission order is recoverable from the events alone: every event of an alert except
 * its final `alert.resolved` is caused by a reading, and an actor applies a unit's readings in
 * strictly increasing device time, so those events are ordered by `ts`; the resolution (the
 * only event a decision without a reading may cause, stamped with server time) comes last. The
 * first resolution wins, as it does in order: the actor forgets an alert once it resolved it.
 */

/** One system event of an alert, as the sink stores it in the timeline. */
export interface FoldEvent {
  eventId: string;
  type: AlertEventType;
  ts: number;
  data: AlertEventData;
}

export interface AlertFold {
  openedAt: number;
  ruleId: string | null;
  severity: Severity;
  value: number | null;
  /**
   * The breach threshold of the current severity, from the last opening or update. Null while
   * only clears or the resolution have arrived: their `threshold` is the clear one.
   */
  threshold: number | null;
  message: string;
  clearedAt: number | null;
  latched: boolean;
  suppressed: boolean;
  resolved: { at: number; eventId: string } | null;
}

export function foldEventOf(e: AlertEvent): FoldEvent {
  return { eventId: e.id, type: e.type, ts: e.ts, data: e.data };
}

function emissionOrder(a: FoldEvent, b: FoldEvent): number {
  const ra = a.type === 'alert.resolved' ? 1 : 0;
  const rb = b.type === 'alert.resolved' ? 1 : 0;
  if (ra !== rb) return ra - rb;
  if (a.ts !== b.ts) return a.ts - b.ts;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

function breaching(e: FoldEvent): boolean {
  return e.type === 'alert.opened' || e.type === 'alert.updated';
}

/** The row of an alert from its events (at least one). */
export function foldAlert(events: readonly FoldEvent[]): AlertFold {
  const ordered = [...events].sort(emissionOrder);
  const first = ordered[0];
  if (!first) throw new RangeError('foldAlert needs at least one event');
  const f: AlertFold = {
    openedAt: first.data.openedAt,
    ruleId: first.data.ruleId,
    severity: first.data.severity,
    value: null,
    threshold: null,
    message: first.data.message,
    clearedAt: null,
    latched: first.data.latched,
    suppressed: first.data.suppressed,
    resolved: null,
  };
  for (const e of ordered) {
    const d = e.data;
    if (e.type === 'alert.resolved') {
      f.resolved = { at: e.ts, eventId: e.eventId };
      f.severity = d.severity;
      f.message = d.message;
      // A rule retired without a reading resolves with no value: the last one stands.
      if (d.value !== null) f.value = d.value;
      break;
    }
    f.severity = d.severity;
    f.value = d.value;
    f.message = d.message;
    f.clearedAt = e.type === 'alert.cleared' ? e.ts : null;
    if (breaching(e)) f.threshold = d.threshold;
  }
  return f;
}
