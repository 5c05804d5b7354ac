/**
 * What the alerts of some units look like in PostgreSQL, in a form two runs of the same input
 * can be compared in: rows and timelines keyed by unit and opening time rather than by ids
 * (units and rules differ between runs), timelines in event-time order (arrival order is not part of
 * the outcome), and nothing that records when the sink wrote (`updated_at`).
 */
import type { Pool } from '../../schemas/mod.ts';

export interface AlertOutcome {
  /** `<unit index>@<opened_at ISO>`: the same alert of the same input in another run. */
  key: string;
  status: string;
  severity: string;
  value: number | null;
  threshold: number | null;
  message: string;
  openedAt: string;
  clearedAt: string | null;
  resolvedAt: string | null;
  latched: boolean;
  suppressed: boolean;
  timeline: Array<{ at: string; action: string; note: string | null; data: unknown }>;
}

interface RawAlert {
  id: string;
  equipment_id: string;
  rule_id: string | null;
  rule_key: string;
  status: string;
  severity: string;
  value: number | null;
  threshold: number | null;
  message: string;
  opened_at: Date;
  cleared_at: Date | null;
  resolved_at: Date | null;
  latched: boolean;
  suppressed: boolean;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Every alert of `units` (in that order), normalised; see the module comment. */
export async function alertOutcomes(pool: Pool, units: readonly string[]): Promise<AlertOutcome[]> {
  const rows = (
    await pool.query<RawAlert>(
      `SELECT id, equipment_id, rule_id, rule_key, status, severity, value, threshold, message, opened_at, cleared_at,
              resolved_at, latched, suppressed
         FROM alerts WHERE equipment_id = ANY($1::uuid[])`,
      [units],
    )
  ).rows;
  const keyOf = new Map<string, string>();
  for (const r of rows) {
    keyOf.set(r.id, `${units.indexOf(r.equipment_id)}:${r.rule_key}@${r.opened_at.toISOString()}`);
  }
  const unitKey = new Map(units.map((u, i) => [u, `unit#${i}`]));
  // Rules too: two runs of the same input belong to two tenants with a rule each.
  for (const r of rows) if (r.rule_id) unitKey.set(r.rule_id, `rule:${r.rule_key}`);
  // Ids inside messages, event ids and event data name the alert and the unit: named by key.
  const anonymise = (s: string): string => {
    let out = s;
    for (const [id, key] of keyOf) out = out.replaceAll(id, key);
    for (const [id, key] of unitKey) out = out.replaceAll(id, key);
    return out;
  };
  const entries = (
    await pool.query<{
      alert_id: string;
      event_id: string;
      at: Date;
      action: string;
      note: string | null;
      data: unknown;
    }>(
      `SELECT alert_id, event_id, at, action, note, data FROM alert_timeline WHERE alert_id = ANY($1::uuid[])`,
      [rows.map((r) => r.id)],
    )
  ).rows.map((e) => ({ ...e, event_id: anonymise(e.event_id) }));
  entries.sort((a, b) => +a.at - +b.at || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
  return rows
    .map((r) => ({
      key: keyOf.get(r.id)!,
      status: r.status,
      severity: r.severity,
      value: r.value,
      threshold: r.threshold,
      message: anonymise(r.message),
      openedAt: r.opened_at.toISOString(),
      clearedAt: iso(r.cleared_at),
      resolvedAt: iso(r.resolved_at),
      latched: r.latched,
      suppressed: r.suppressed,
      timeline: entries
        .filter((e) => e.alert_id === r.id)
        .map((e) => ({
          at: e.at.toISOString(),
          action: e.action,
          note: e.note === null ? null : anonymise(e.note),
          data: JSON.parse(anonymise(JSON.stringify(e.data))) as unknown,
        })),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
