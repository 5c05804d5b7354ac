import { subscribeControl, TelemetryDecoder, type Subscription } from '../../streams/mod.ts';
import type { Pool } from '../../schemas/mod.ts';
import { kernelDeps, type NodeDeps } from '../deps.ts';
import {
  ActorKernel,
  KernelHost,
  type KernelHealth,
  type KernelOf,
  type KernelOptions,
  type PartitionHealth,
} from '../kernel/mod.ts';
import type { EquipmentCommand } from './equipment.decider.ts';
import { equipmentKind, type EquipmentContext, type EquipmentKind } from './equipment.kind.ts';
import { UnitDirectory } from './equipment.repo.ts';
import { StateFeed } from './state-feed.ts';
import { UnitRules } from './unit-rules.ts';
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

export class EquipmentHost extends KernelHost<KernelOf<EquipmentKind>> {
  readonly #deps: EquipmentDeps;
  readonly #opts: EquipmentHostOptions;
  readonly #units: UnitDirectory;
  readonly #rules: UnitRules;
  readonly #stateFeed: StateFeed;
  readonly #presence: ZonePresence;
  #rulesTimer: NodeJS.Timeout | null = null;

  constructor(deps: EquipmentDeps, opts: EquipmentHostOptions) {
    const units = new UnitDirectory(deps.pool, { horizonMs: deps.config.VIGIL_MAX_READING_AGE_S * 1000 });
    const rules = new UnitRules(deps.pool, deps.log);
    const stateFeed = new StateFeed(
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
    const presence = new ZonePresence({ js: deps.js, jsm: deps.jsm, names: deps.names, log: deps.log });
    const kind = equipmentKind({
      js: deps.js,
      jsm: deps.jsm,
      names: deps.names,
      telemetry: deps.telemetry ?? new TelemetryDecoder(deps.names.ns, deps.config),
      units,
      rulesFor: (unit) => rules.rulesFor(unit),
      unitRefreshMs: opts.unitRefreshMs ?? 60_000,
      stateFeed,
      presence,
    });
    super(new ActorKernel(kind, kernelDeps(deps), opts), deps.nc);
    this.#deps = deps;
    this.#opts = opts;
    this.#units = units;
    this.#rules = rules;
    this.#stateFeed = stateFeed;
    this.#presence = presence;
  }

  override async start(): Promise<void> {
    await super.start();
    this.#rulesTimer ??= setInterval(() => this.#rules.clear(), this.#opts.rulesRefreshMs ?? 5 * 60_000);
    this.#rulesTimer.unref();
  }

  protected override follow(): Subscription[] {
    // Who is at which camera zone (unattended_door rules read it; they wait until it has read up).
    this.#presence.follow();
    const { nc, names, log } = this.#deps;
    return [
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
    ];
  }

  override async stop(): Promise<void> {
    if (this.#rulesTimer) clearInterval(this.#rulesTimer);
    await super.stop();
    await this.#presence.stop();
    this.#stateFeed.stop();
  }

  override health(): EquipmentHealth {
    return { ...super.health(), skippedRules: this.#rules.skipped };
  }

  async #onRulesChanged(tenantId: string | null): Promise<void> {
    try {
      await this.#rules.reload(tenantId);
      await this.kernel.controlEach(
        (a) => tenantId === null || a.context.unit.tenantId === tenantId,
        async (a) => ({
          type: 'ReconcileRules',
          data: { unit: a.context.unit, rules: await this.#rules.rulesFor(a.context.unit) },
        }),
      );
      this.#deps.log.info({ tenantId }, 'alert rules reloaded');
    } catch (err) {
      // The next reading evaluates with whatever rules load then; nothing is lost.
      this.#deps.log.warn({ err, tenantId }, 'applying changed rules failed');
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
      await this.kernel.control(equipmentId, (a) => command(a.context));
    } catch (err) {
      // The actor reads the alert's status from PostgreSQL at its next unit refresh.
      this.#deps.log.warn({ err, equipmentId, alertId, what }, 'applying alert control message failed');
    }
  }

  /** Maintenance records of a unit changed: reload its windows, if this node hosts it. */
  async #onMaintenanceChanged(equipmentId: string): Promise<void> {
    try {
      const reloaded = await this.kernel.control(equipmentId, async (a) => {
        a.context = { ...a.context, maintenance: await this.#units.maintenance(equipmentId) };
        return null;
      });
      if (reloaded) this.#deps.log.debug({ equipmentId }, 'maintenance windows reloaded');
    } catch (err) {
      // The windows are reloaded with the unit at its next refresh anyway.
      this.#deps.log.warn({ err, equipmentId }, 'reloading maintenance windows failed');
    }
  }
}
