import { subscribeControl, TelemetryDecoder, type Subscription } from '../../streams/mod.ts';
import type { Logger, Pool } from '../../schemas/mod.ts';
import type { NodeDeps } from '../deps.ts';
import {
  ActorKernel,
  type KernelHealth,
  type KernelOf,
  type KernelOptions,
  type PartitionHealth,
} from '../kernel/mod.ts';
import type { DeciderRule, EquipmentCommand, UnitInfo } from './equipment.decider.ts';
import { equipmentKind, type EquipmentContext, type EquipmentKind } from './equipment.kind.ts';
import { RuleBook, UnitDirectory } from './equipment.repo.ts';
import { rulesForUnit } from './equipment.rules.ts';
import { StateFeed } from './state-feed.ts';
import { ZonePresence } from './zone-presence.ts';

/**
 * The equipment actors of this node: the equipment kind (equipment.kind.ts) on the actor
 * kernel, plus what is equipment's own — the rules cache and the control messages that reach
 * live actors (rules changed, alert closed or acknowledged, maintenance changed).
 */

export interface EquipmentDeps extends NodeDeps {
  /** `vigil_worker` pool. */
  pool: Pool;
}

export interface EquipmentHostOptions extends KernelOptions {
  /** Re-read a unit's site and setpoint this often. */
  unitRefreshMs?: number;
  /** Reload all rules this often, in case a `ctl.rules.changed` was missed (NATS core is not stored). */
  rulesRefreshMs?: number;
  /** At most one `equipment.state` event per unit this often (the latest state wins). */
  stateEventIntervalMs?: number;
}

export type { PartitionHealth };

export interface EquipmentHealth extends KernelHealth {
  skippedRules: number;
}

type EquipmentKernel = KernelOf<EquipmentKind>;

export class EquipmentHost {
  readonly #deps: EquipmentDeps;
  readonly #log: Logger;
  readonly #opts: EquipmentHostOptions;
  readonly #units: UnitDirectory;
  readonly #rules: RuleBook;
  readonly #kernel: EquipmentKernel;
  readonly #stateFeed: StateFeed;
  readonly #presence: ZonePresence;
  readonly #warned = new Set<string>();
  readonly #resolved = new Map<string, { version: number; siteId: string; rules: DeciderRule[] }>();
  #rulesVersion = 0;
  #subs: Subscription[] = [];
  #rulesTimer: NodeJS.Timeout | null = null;

  constructor(deps: EquipmentDeps, opts: EquipmentHostOptions) {
    this.#deps = deps;
    this.#log = deps.log;
    this.#opts = opts;
    this.#units = new UnitDirectory(deps.pool, { horizonMs: deps.config.VIGIL_MAX_READING_AGE_S * 1000 });
    this.#rules = new RuleBook(deps.pool);
    this.#stateFeed = new StateFeed(
      async (event) => {
        const { tenantId, siteId, data } = event;
        deps.nc.publish(
          deps.names.live.subject(tenantId, siteId, 'equipment', data.equipmentId),
          JSON.stringify(event),
        );
      },
      opts.stateEventIntervalMs ?? 1000,
      deps.log,
    );
    this.#presence = new ZonePresence({ js: deps.js, jsm: deps.jsm, names: deps.names, log: deps.log });
    const kind = equipmentKind({
      js: deps.js,
      jsm: deps.jsm,
      names: deps.names,
      telemetry: deps.telemetry ?? new TelemetryDecoder(deps.names.ns, deps.config),
      units: this.#units,
      rulesFor: (unit) => this.#rulesFor(unit),
      unitRefreshMs: opts.unitRefreshMs ?? 60_000,
      stateFeed: this.#stateFeed,
      presence: this.#presence,
    });
    this.#kernel = new ActorKernel(
      kind,
      {
        // Serves live-state queries (actor.equipment.<p>.state) for the partitions it owns.
        nc: deps.nc,
        js: deps.js,
        jsm: deps.jsm,
        kv: deps.kv,
        names: deps.names,
        log: deps.log,
        partitions: deps.config.VIGIL_PARTITIONS,
      },
      opts,
    );
  }

  /** The kernel hosting the actors: live-state queries and control go through it. */
  get kernel(): EquipmentKernel {
    return this.#kernel;
  }

  /**
   * Before membership is known: follow control messages, then take back the partitions this
   * node held before a restart (`ActorKernel.reclaim`). `start()` follows.
   */
  async reclaim(): Promise<void> {
    await this.#listen();
    await this.#kernel.reclaim();
  }

  async start(): Promise<void> {
    await this.#listen();
    this.#kernel.start();
    this.#rulesTimer ??= setInterval(
      () => {
        this.#rules.clear();
        this.#rulesVersion++;
      },
      this.#opts.rulesRefreshMs ?? 5 * 60_000,
    );
    this.#rulesTimer.unref();
  }

  async #listen(): Promise<void> {
    if (this.#subs.length) return;
    // Who is at which camera zone (unattended_door rules read it; they wait until it has read up).
    this.#presence.follow();
    const { nc, names } = this.#deps;
    const log = this.#log;
    this.#subs.push(
      subscribeControl(nc, names, 'rulesChanged', log, (b) => this.#onRulesChanged(b.tenantId)),
      subscribeControl(nc, names, 'alertClosed', log, (b) =>
        this.#onAlert(
          b.equipmentId,
          () => ({ type: 'CloseAlert', data: { ruleKey: b.ruleKey, alertId: b.alertId } }),
          b.alertId,
          'closed',
        ),
      ),
      subscribeControl(nc, names, 'alertAcknowledged', log, (b) =>
        this.#onAlert(
          b.equipmentId,
          (a) => ({
            type: 'AcknowledgeAlert',
            data: { unit: a.unit, ruleKey: b.ruleKey, alertId: b.alertId },
          }),
          b.alertId,
          'acknowledged',
        ),
      ),
      subscribeControl(nc, names, 'maintenanceChanged', log, (b) =>
        this.#onMaintenanceChanged(b.equipmentId),
      ),
      // A unit changed: units loaded from here on read it afresh, not from the tenant's batch.
      subscribeControl(nc, names, 'equipmentChanged', log, (b) => this.#units.forgetTenant(b.tenantId)),
    );
    await nc.flush();
  }

  /** Coalesce bursts of membership events into one rebalance. */
  scheduleRebalance(): void {
    this.#kernel.scheduleRebalance();
  }

  rebalance(): void {
    this.#kernel.rebalance();
  }

  async stop(): Promise<void> {
    if (this.#rulesTimer) clearInterval(this.#rulesTimer);
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    await this.#kernel.stop();
    await this.#presence.stop();
    this.#stateFeed.stop();
  }

  health(): EquipmentHealth {
    return { ...this.#kernel.health(), skippedRules: this.#warned.size };
  }

  /** Enabled, supported rules of a unit; unsupported or invalid ones are reported once. */
  async #rulesFor(unit: UnitInfo): Promise<DeciderRule[]> {
    const version = this.#rulesVersion;
    const cached = this.#resolved.get(unit.equipmentId);
    if (cached && cached.version === version && cached.siteId === unit.siteId) return cached.rules;
    const { rules, skipped } = rulesForUnit(await this.#rules.rowsFor(unit.tenantId), unit);
    for (const s of skipped) {
      const key = `${s.ruleId}:${s.code}`;
      if (this.#warned.has(key)) continue;
      this.#warned.add(key);
      this.#log.warn(
        { ruleId: s.ruleId, ruleKey: s.key, kind: s.kind, code: s.code, reason: s.reason },
        'alert rule skipped',
      );
    }
    if (version === this.#rulesVersion)
      this.#resolved.set(unit.equipmentId, { version, siteId: unit.siteId, rules });
    return rules;
  }

  async #onRulesChanged(tenantId: string | null): Promise<void> {
    try {
      await this.#rules.reload(tenantId);
      this.#rulesVersion++;
      await this.#kernel.controlEach(
        (a) => tenantId === null || a.context.unit.tenantId === tenantId,
        async (a) => ({
          type: 'ReconcileRules',
          data: { unit: a.context.unit, rules: await this.#rulesFor(a.context.unit) },
        }),
      );
      this.#log.info({ tenantId }, 'alert rules reloaded');
    } catch (err) {
      // The next reading evaluates with whatever rules load then; nothing is lost.
      this.#log.warn({ err, tenantId }, 'applying changed rules failed');
    }
  }

  /** A person closed or acknowledged an alert: tell its actor, if this node hosts it. */
  async #onAlert(
    equipmentId: string,
    command: (ctx: EquipmentContext) => EquipmentCommand,
    alertId: string,
    what: 'closed' | 'acknowledged',
  ): Promise<void> {
    try {
      await this.#kernel.control(equipmentId, (a) => command(a.context));
    } catch (err) {
      // The actor reads the alert's status from PostgreSQL at its next unit refresh.
      this.#log.warn({ err, equipmentId, alertId, what }, 'applying alert control message failed');
    }
  }

  /** Maintenance records of a unit changed: reload its windows, if this node hosts it. */
  async #onMaintenanceChanged(equipmentId: string): Promise<void> {
    try {
      const reloaded = await this.#kernel.control(equipmentId, async (a) => {
        a.context = { ...a.context, maintenance: await this.#units.maintenance(equipmentId) };
        return null;
      });
      if (reloaded) this.#log.debug({ equipmentId }, 'maintenance windows reloaded');
    } catch (err) {
      // The windows are reloaded with the unit at its next refresh anyway.
      this.#log.warn({ err, equipmentId }, 'reloading maintenance windows failed');
    }
  }
}
