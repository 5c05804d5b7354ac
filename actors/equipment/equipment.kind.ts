import {
  publishEvent,
  type JetStreamClient,
  type JetStreamManager,
  type Names,
  type StoredReading,
  type TelemetryDecoder,
} from '../../streams/mod.ts';
import type { ActorKind, ActorView, SnapshotCodec } from '../kernel/mod.ts';
import { fromNatsError } from '../errors.ts';
import {
  handle,
  initialState,
  isPublished,
  nextWakeAt,
  type DeciderRule,
  type EquipmentCommand,
  type EquipmentEvent,
  type EquipmentState,
  type MaintenanceWindow,
  type Presence,
  type RuleState,
  type UnitInfo,
} from './equipment.decider.ts';
import type { UnitDirectory } from './equipment.repo.ts';
import { phaseChanged } from './equipment.view.ts';
import type { StateFeed } from './state-feed.ts';

/** Identifies an equipment actor: its tenant (for the unit lookup) and its unit id (the key). */
export interface EquipmentRef {
  tenantId: string;
  equipmentId: string;
}

/** What the service loads around an equipment actor; re-read every `unitRefreshMs`. */
export interface EquipmentContext {
  unit: UnitInfo;
  maintenance: MaintenanceWindow[];
}

export type EquipmentActor = ActorView<EquipmentRef, EquipmentState, EquipmentContext>;

/**
 * The decider's events, plus one the kind adds: the unit's alert-relevant state changed (what
 * `equipment.state` events report), carrying the state it changed to.
 */
export type EquipmentKindEvent = EquipmentEvent | { type: 'state.changed'; data: EquipmentState };

export type EquipmentKind = ActorKind<
  EquipmentRef,
  StoredReading,
  EquipmentState,
  EquipmentCommand,
  EquipmentKindEvent,
  EquipmentContext
>;

/** Fields a snapshot written by an older version may lack, filled with what they meant then. */
function upgradeRuleState(rs: RuleState): RuleState {
  if (rs.phase === 'pending') return rs;
  // Typed as present, but absent (undefined) in snapshots older than the fields.
  const { suppressed, acknowledged } = rs.alert;
  return {
    ...rs,
    alert: { ...rs.alert, suppressed: suppressed === true, acknowledged: acknowledged === true },
  };
}

/** Snapshot v1: `{ v: 1, seq, at, unit, state }` (the format equipment actors always wrote). */
export const equipmentCodec: SnapshotCodec<EquipmentRef, EquipmentState, EquipmentContext> = {
  version: 1,
  encode: (actor) => ({ unit: actor.context.unit, state: actor.state }),
  decode(body, equipmentId) {
    if (body.v !== 1) return `unknown snapshot version ${String(body.v)}`;
    const unit = body['unit'] as Partial<UnitInfo> | undefined;
    const state = body['state'] as Partial<EquipmentState> | undefined;
    if (!state || typeof state !== 'object') return 'no seq or state';
    if (unit?.equipmentId !== equipmentId || typeof unit.tenantId !== 'string')
      return 'snapshot of another unit';
    if (!state.rules || typeof state.rules !== 'object') return 'no rule states';
    const rules: EquipmentState['rules'] = {};
    for (const [key, rs] of Object.entries(state.rules)) {
      if (!rs || typeof rs !== 'object') return `rule state ${key} is not an object`;
      rules[key] = upgradeRuleState(rs);
    }
    return {
      ref: { tenantId: unit.tenantId, equipmentId },
      state: { ...(state as EquipmentState), rules },
    };
  },
};

/** Open alerts of a state, by rule key. */
function openAlerts(
  state: EquipmentState,
): Array<{ ruleKey: string; alertId: string; acknowledged: boolean }> {
  return Object.entries(state.rules).flatMap(([ruleKey, rs]) =>
    rs.phase === 'pending' ? [] : [{ ruleKey, alertId: rs.alert.id, acknowledged: rs.alert.acknowledged }],
  );
}

export interface EquipmentKindDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  telemetry: TelemetryDecoder;
  units: UnitDirectory;
  /** Enabled, supported rules of a unit. */
  rulesFor(unit: UnitInfo): Promise<DeciderRule[]>;
  /** Re-read a unit's site, setpoint and maintenance windows this often. */
  unitRefreshMs: number;
  /** Where phase changes go as `equipment.state` events (coalesced per unit). */
  stateFeed: StateFeed;
  /** Who was last seen in a camera zone (for units that watch one); absent: no cross-signal. */
  presence?: { lastSeen(tenantId: string, zoneId: string, now: number): Presence };
}

/** The watched zone's presence, for a unit whose rules include one that needs it. */
function presenceFor(
  d: EquipmentKindDeps,
  unit: UnitInfo,
  rules: readonly DeciderRule[],
  now: number,
): { presence?: Presence } {
  if (!d.presence || !unit.watchZoneId || !rules.some((r) => r.kind === 'unattended_door')) return {};
  return { presence: d.presence.lastSeen(unit.tenantId, unit.watchZoneId, now) };
}

/** Whether the stream holds a reading of the actor's unit that the actor has not applied yet. */
async function backlogged(d: EquipmentKindDeps, actor: EquipmentActor): Promise<boolean> {
  const subject = `${d.names.telemetry.publish(actor.ref.tenantId, actor.ref.equipmentId)}.${actor.partition}`;
  try {
    const last = await d.jsm.streams.getMessage(d.names.telemetry.stream, { last_by_subj: subject });
    return last !== null && last.seq > actor.seq;
  } catch (err) {
    // No message on the subject (purged, or none yet): nothing to wait for.
    if (/no message found|not found/i.test(String((err as Error).message))) return false;
    throw fromNatsError(err, 'checking a unit for unread readings');
  }
}

/** Equipment actors as a kernel actor kind: one actor per unit, fed by TELEMETRY. */
export function equipmentKind(d: EquipmentKindDeps): EquipmentKind {
  // One reader for the kind: each message goes to exactly one of its partition consumers.
  const decode = d.telemetry.reader();
  return {
    name: 'equipment',
    source: {
      stream: d.names.telemetry.stream,
      partition: (p) => d.names.telemetry.partition(p),
      dlqSource: 'telemetry',
    },
    logKey: 'equipmentId',
    decode,
    refOf: (m) => ({ tenantId: m.reading.tenantId, equipmentId: m.reading.equipmentId }),
    keyOf: (ref) => ref.equipmentId,
    snapshotKey: (equipmentId) => `eq.${equipmentId}`,
    codec: equipmentCodec,
    initialState: () => initialState(),
    contextTtlMs: d.unitRefreshMs,
    async loadContext(ref, now) {
      const found = await d.units.lookup(ref.tenantId, ref.equipmentId, now);
      return found.ok
        ? { ok: true, context: { unit: found.unit, maintenance: found.maintenance } }
        : { ok: false, code: 'UNKNOWN_EQUIPMENT', reason: found.reason };
    },
    /**
     * Catch up with what people did to the actor's open alerts while no actor watched or while
     * a control message was lost (NATS core is not stored): resolved ones are forgotten,
     * acknowledged ones recorded (a cleared latched alert then resolves).
     */
    async reconcile(actor) {
      const open = openAlerts(actor.state);
      if (open.length === 0) return [];
      const statuses = await d.units.alertStatuses(open.map((o) => o.alertId));
      const commands: EquipmentCommand[] = [];
      for (const o of open) {
        const status = statuses.get(o.alertId);
        if (status === 'resolved') commands.push({ type: 'CloseAlert', data: o });
        else if (status === 'acknowledged' && !o.acknowledged)
          commands.push({ type: 'AcknowledgeAlert', data: { ...o, unit: actor.context.unit } });
      }
      return commands;
    },
    async toCommand(m, actor, now) {
      const { unit, maintenance } = actor.context;
      const rules = await d.rulesFor(unit);
      return {
        type: 'RecordReading',
        data: { reading: m.reading, unit, rules, maintenance, ...presenceFor(d, unit, rules, now) },
      };
    },
    handle(state, command, now) {
      const result: { state: EquipmentState; events: EquipmentKindEvent[] } = handle(state, command, now);
      if (phaseChanged(state, result.state))
        result.events.push({ type: 'state.changed', data: result.state });
      return result;
    },
    // No-data, door-open and defrost-overrun timers live in the decider's state.
    wakeAt: nextWakeAt,
    async onWake(actor, now) {
      // A new owner wakes restored actors before it has consumed their partition's backlog: a
      // reading still waiting in the stream would have moved the timer (a unit that kept
      // reporting while no node owned it is not silent). Then wait for the reading instead.
      if (await backlogged(d, actor)) return null;
      const { unit, maintenance } = actor.context;
      const rules = await d.rulesFor(unit);
      return { type: 'Wake', data: { unit, rules, maintenance, ...presenceFor(d, unit, rules, now) } };
    },
    async emit(events, actor) {
      for (const e of events) {
        if (e.type === 'state.changed') {
          d.stateFeed.offer(actor.context.unit, e.data, Date.now());
          continue;
        }
        if (!isPublished(e)) continue;
        try {
          await publishEvent(d.js, d.names, e.data);
        } catch (err) {
          throw fromNatsError(err, 'publishing alert event');
        }
      }
    },
  };
}
