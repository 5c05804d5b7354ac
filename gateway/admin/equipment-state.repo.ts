import { applicableRows, viewState, type EquipmentState } from '../../actors/equipment/mod.ts';
import type {
  ActorStateReply,
  AlertRuleRow,
  ApiAlert,
  ApiEquipmentState,
  ApiRuleState,
  PoolClient,
} from '../../schemas/mod.ts';
import { COLUMNS as ALERT_COLUMNS, toApi as alertToApi, type AlertRow } from './alerts.repo.ts';
import { getEquipment } from './equipment.repo.ts';
import { READING_COLUMNS, toReading, type ReadingRow } from './readings.repo.ts';

/** What PostgreSQL knows of a unit, read in the caller's tenant transaction (RLS decides). */
export interface StoredUnitState {
  equipmentId: string;
  siteId: string;
  setpoint: number | null;
  lastReading: ApiEquipmentState['lastReading'];
  openAlerts: ApiAlert[];
  /** The rule that applies per key (most specific scope, enabled). */
  rules: AlertRuleRow[];
}

const RULE_COLUMNS = 'id, tenant_id, site_id, equipment_id, key, kind, name, params, latched, enabled';

/** NOT_FOUND when the caller cannot see the unit, before anything else is read. */
export async function storedUnitState(c: PoolClient, tenantId: string, id: string): Promise<StoredUnitState> {
  const unit = await getEquipment(c, id);
  // One client runs one query at a time: sequential, in the caller's tenant scope.
  const reading = await c.query<ReadingRow>(
    `SELECT ${READING_COLUMNS} FROM telemetry_v WHERE equipment_id = $1 ORDER BY ts DESC LIMIT 1`,
    [id],
  );
  const alerts = await c.query<AlertRow>(
    `SELECT ${ALERT_COLUMNS} FROM alerts WHERE equipment_id = $1 AND status <> 'resolved' ORDER BY opened_at DESC, id DESC`,
    [id],
  );
  // Global rules and the tenant's own of every scope; applicableRows picks per key.
  const rules = await c.query<AlertRuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules`);
  const row = reading.rows[0];
  return {
    equipmentId: unit.id,
    siteId: unit.site_id,
    setpoint: unit.setpoint,
    lastReading: row ? toReading(row) : null,
    openAlerts: alerts.rows.map(alertToApi),
    rules: applicableRows(rules.rows, {
      tenantId,
      siteId: unit.site_id,
      equipmentId: unit.id,
      setpoint: unit.setpoint,
    }),
  };
}

const isoOf = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** The owner's reply holds the decider state as its snapshot codec wrote it. */
function decoderState(
  reply: ActorStateReply | null,
): { state: EquipmentState; seq: number; wakeAt: number | null } | null {
  if (!reply || !('found' in reply) || !reply.found) return null;
  const state = reply.state as Partial<EquipmentState> | null;
  if (!state || typeof state !== 'object' || typeof state.rules !== 'object' || state.rules === null)
    return null;
  return { state: state as EquipmentState, seq: reply.seq, wakeAt: reply.wakeAt };
}

/**
 * Stored facts and the owner's live state, side by side. `reply` is null when no node serves
 * the unit's partition. Without a live actor, phases are `unknown` and each rule shows the
 * alert PostgreSQL has open for it.
 */
export function equipmentState(
  stored: StoredUnitState,
  partition: number,
  reply: ActorStateReply | null,
): ApiEquipmentState {
  const live = decoderState(reply);
  const ruleOf = new Map(stored.rules.map((r) => [r.key, r]));
  const openOf = new Map(stored.openAlerts.map((a) => [a.ruleKey, a]));
  let rules: ApiRuleState[];
  if (live) {
    const view = viewState(live.state, ruleOf.keys());
    rules = view.rules.map((r) => ({
      ruleKey: r.ruleKey,
      ruleId: ruleOf.get(r.ruleKey)?.id ?? null,
      kind: ruleOf.get(r.ruleKey)?.kind ?? null,
      phase: r.phase,
      severity: r.severity,
      since: isoOf(r.since),
      alertId: r.alertId,
      acknowledged: r.acknowledged,
      timerAt: isoOf(r.timerAt),
      evaluable: r.evaluable,
    }));
  } else {
    const keys = [...new Set([...ruleOf.keys(), ...openOf.keys()])].sort();
    rules = keys.map((ruleKey) => {
      const open = openOf.get(ruleKey);
      return {
        ruleKey,
        ruleId: ruleOf.get(ruleKey)?.id ?? null,
        kind: ruleOf.get(ruleKey)?.kind ?? null,
        phase: 'unknown',
        severity: open?.severity ?? null,
        since: null,
        alertId: open?.id ?? null,
        acknowledged: open?.status === 'acknowledged',
        timerAt: null,
        evaluable: true,
      };
    });
  }
  const s = live?.state;
  return {
    equipmentId: stored.equipmentId,
    siteId: stored.siteId,
    actor: {
      status: live ? 'live' : reply && 'found' in reply ? 'idle' : 'unavailable',
      partition,
      seq: live?.seq ?? null,
      wakeAt: isoOf(live?.wakeAt),
    },
    lastReading: stored.lastReading,
    lastReadingAt: isoOf(s?.lastTs ?? null),
    door: s?.doorOpen ?? stored.lastReading?.door ?? null,
    heater: s?.heaterOn ?? stored.lastReading?.heater ?? null,
    setpoint: s?.setpoint ?? stored.lastReading?.setpoint ?? stored.setpoint,
    rules,
    openAlerts: stored.openAlerts,
  };
}
