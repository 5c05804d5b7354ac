import type { AlertEvent, AlertRule, Reading, RuleStatusEvent, Severity } from '../../schemas/mod.ts';

/** The equipment actor's message contract: its state, the commands it takes, the events it makes. */

export interface UnitInfo {
  tenantId: string;
  siteId: string;
  equipmentId: string;
  /** The setpoint configured for the unit; one the controller reports takes precedence. */
  setpoint: number | null;
  /** The site's IANA time zone, for rule schedules; absent = UTC. */
  timeZone?: string;
  /** The camera zone in front of the unit (`unattended_door` rules watch it); absent = none. */
  watchZoneId?: string | null;
}

/**
 * What the unit's watched camera zone showed, as the host knows it when it sends a command:
 * the latest time someone was seen there (now, while someone is), and whether the host has
 * read every people event up to now (after a restart it may still be catching up: then an
 * `unattended_door` rule waits rather than fire on a gap).
 */
export interface Presence {
  lastSeenAt: number | null;
  complete: boolean;
}

/** Every rule kind is evaluated; the type stays apart so a future kind can land in steps. */
export type DeciderRule = AlertRule;

/** A maintenance window of the unit, epoch ms, `[start, end)`. */
export interface MaintenanceWindow {
  start: number;
  end: number;
}

export interface OpenAlert {
  id: string;
  ruleId: string | null;
  openedAt: number;
  severity: Severity;
  latched: boolean;
  metric: string;
  /** Opened during a maintenance window; every later event of the alert says so too. */
  suppressed: boolean;
  /** Someone acknowledged it: a latched alert then resolves on clear instead of latching. */
  acknowledged: boolean;
}

export type RuleState =
  | { phase: 'pending'; since: number; severity: Severity }
  | { phase: 'firing'; alert: OpenAlert }
  | { phase: 'recovering'; alert: OpenAlert; since: number }
  | { phase: 'latched'; alert: OpenAlert; since: number | null };

export interface EquipmentState {
  /** Device time of the last reading applied; a reading at or before it changes nothing. */
  lastTs: number | null;
  heaterOn: boolean | null;
  heaterOffAt: number | null;
  doorOpen: boolean | null;
  doorClosedAt: number | null;
  /** Latest time someone was seen in the unit's watched camera zone (for unattended_door). */
  presentAt?: number | null;
  /** When the door last opened / the heater last went on (for door_open, defrost_overrun). */
  doorOpenedAt?: number | null;
  heaterOnAt?: number | null;
  /** The setpoint the controller last reported: it stays until the controller reports another. */
  setpoint?: number | null;
  /** Per metric a no_data rule watches: when it was last seen (or first watched). */
  heard?: Record<string, number>;
  /** Per rate rule key: the samples of its window, `[ts0, v0, ts1, v1, …]`. */
  series?: Record<string, number[]>;
  /**
   * Per rule key: the server time (epoch ms) at which a time-driven rule must be evaluated
   * again. Timers are state, so a snapshot carries them and a new owner resumes them.
   */
  timers?: Record<string, number>;
  /** Rule keys that apply but cannot be evaluated (a relative rule on a unit with no setpoint). */
  unevaluable?: string[];
  /** Per rule key; a key that is absent is normal. */
  rules: Record<string, RuleState>;
}

export type EquipmentCommand =
  | {
      type: 'RecordReading';
      data: {
        reading: Reading;
        unit: UnitInfo;
        rules: readonly DeciderRule[];
        /** The unit's maintenance windows; an alert opening inside one is suppressed. */
        maintenance?: readonly MaintenanceWindow[];
        /** The watched zone's presence, when the unit has `unattended_door` rules. */
        presence?: Presence;
      };
    }
  /** Server time reached `nextWakeAt`: evaluate time-driven rules at `now`. */
  | {
      type: 'Wake';
      data: {
        unit: UnitInfo;
        rules: readonly DeciderRule[];
        maintenance?: readonly MaintenanceWindow[];
        presence?: Presence;
      };
    }
  | { type: 'ReconcileRules'; data: { unit: UnitInfo; rules: readonly DeciderRule[] } }
  | { type: 'AcknowledgeAlert'; data: { unit: UnitInfo; ruleKey: string; alertId: string } }
  | { type: 'CloseAlert'; data: { ruleKey: string; alertId: string } };

export type PublishedEvent =
  | { type: 'alert.opened'; data: AlertEvent }
  | { type: 'alert.updated'; data: AlertEvent }
  | { type: 'alert.cleared'; data: AlertEvent }
  | { type: 'alert.resolved'; data: AlertEvent }
  | { type: 'rule.unevaluable'; data: RuleStatusEvent }
  | { type: 'rule.evaluable'; data: RuleStatusEvent };

export type EquipmentEvent =
  | {
      type: 'reading.recorded';
      data: { ts: number; heater?: boolean; door?: boolean; setpoint?: number; heard?: string[] };
    }
  | { type: 'presence.seen'; data: { at: number } }
  | { type: 'condition.pending'; data: { ruleKey: string; since: number; severity: Severity } }
  | { type: 'condition.reset'; data: { ruleKey: string } }
  | { type: 'recovery.started'; data: { ruleKey: string; since: number } }
  | { type: 'recovery.aborted'; data: { ruleKey: string } }
  | { type: 'closed.elsewhere'; data: { ruleKey: string; alertId: string } }
  | { type: 'acknowledgement.recorded'; data: { ruleKey: string; alertId: string } }
  | { type: 'series.updated'; data: { ruleKey: string; samples: number[] | null } }
  | { type: 'timer.set'; data: { ruleKey: string; at: number | null } }
  | PublishedEvent;

export function unreachable(x: never): never {
  throw new TypeError(`unhandled ${JSON.stringify(x)}`);
}
