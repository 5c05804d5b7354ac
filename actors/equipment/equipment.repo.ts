import type { AlertRuleRow, Pool } from '../../schemas/mod.ts';
import { fromPgError } from '../errors.ts';
import type { UnitInfo } from './equipment.decider.ts';

/**
 * PostgreSQL reads of the equipment actors, as `vigil_worker` (a system role that sees every
 * tenant). Rules are cached per tenant and reloaded on `ctl.rules.changed`; unit metadata is
 * looked up when an actor starts and refreshed by the service.
 */

const RULE_COLUMNS = 'id, tenant_id, site_id, equipment_id, key, kind, name, params, latched, enabled';
const GLOBAL = '*global*';

export class RuleBook {
  readonly #pool: Pool;
  readonly #cache = new Map<string, Promise<AlertRuleRow[]>>();

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  #load(tenantId: string | null): Promise<AlertRuleRow[]> {
    const key = tenantId ?? GLOBAL;
    let p = this.#cache.get(key);
    if (!p) {
      p = this.#pool
        .query<AlertRuleRow>(
          tenantId === null
            ? `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE tenant_id IS NULL`
            : `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE tenant_id = $1`,
          tenantId === null ? [] : [tenantId],
        )
        .then((r) => r.rows)
        .catch((err: unknown) => {
          // Never cache a failure: the next reading tries again.
          this.#cache.delete(key);
          throw fromPgError(err, 'loading alert rules');
        });
      this.#cache.set(key, p);
    }
    return p;
  }

  /** Global rules plus the tenant's own (every scope); the caller picks per unit. */
  async rowsFor(tenantId: string): Promise<AlertRuleRow[]> {
    const [global, tenant] = await Promise.all([this.#load(null), this.#load(tenantId)]);
    return [...global, ...tenant];
  }

  /** Forget everything; rules load again on demand. */
  clear(): void {
    this.#cache.clear();
  }

  /** Forget and reload one tenant's rules (`null`: the global ones). */
  async reload(tenantId: string | null): Promise<void> {
    this.#cache.delete(tenantId ?? GLOBAL);
    await this.#load(tenantId);
  }
}

export type UnitLookup = { ok: true; unit: UnitInfo } | { ok: false; reason: string };

interface UnitRow {
  id: string;
  tenant_id: string;
  site_id: string;
  setpoint: number | null;
  decommissioned: boolean;
}

export class UnitDirectory {
  readonly #pool: Pool;
  /** Unknown ids are remembered briefly, so a flood for a bogus unit costs one query a second. */
  readonly #missing = new Map<string, { until: number; reason: string }>();
  readonly #missTtlMs: number;

  constructor(pool: Pool, missTtlMs = 1000) {
    this.#pool = pool;
    this.#missTtlMs = missTtlMs;
  }

  async lookup(tenantId: string, equipmentId: string, now = Date.now()): Promise<UnitLookup> {
    const miss = this.#missing.get(equipmentId);
    if (miss && miss.until > now) return { ok: false, reason: miss.reason };
    let row: UnitRow | undefined;
    try {
      const r = await this.#pool.query<UnitRow>(
        `SELECT id, tenant_id, site_id, setpoint, decommissioned_at IS NOT NULL AS decommissioned
           FROM equipment WHERE id = $1`,
        [equipmentId],
      );
      row = r.rows[0];
    } catch (err) {
      throw fromPgError(err, 'looking up equipment');
    }
    let reason: string | null = null;
    if (!row || row.tenant_id !== tenantId)
      reason = `equipment ${equipmentId} of tenant ${tenantId} does not exist`;
    else if (row.decommissioned) reason = `equipment ${equipmentId} is decommissioned`;
    if (reason !== null || !row) {
      const why = reason ?? 'unknown equipment';
      if (this.#missing.size > 10_000) this.#missing.clear();
      this.#missing.set(equipmentId, { until: now + this.#missTtlMs, reason: why });
      return { ok: false, reason: why };
    }
    this.#missing.delete(equipmentId);
    return {
      ok: true,
      unit: { tenantId: row.tenant_id, siteId: row.site_id, equipmentId: row.id, setpoint: row.setpoint },
    };
  }

  /** Ids among `alertIds` whose alert is resolved in the database (closed while no actor watched). */
  async resolvedAlerts(alertIds: readonly string[]): Promise<Set<string>> {
    if (alertIds.length === 0) return new Set();
    try {
      const r = await this.#pool.query<{ id: string }>(
        `SELECT id FROM alerts WHERE id = ANY($1::uuid[]) AND status = 'resolved'`,
        [alertIds],
      );
      return new Set(r.rows.map((x) => x.id));
    } catch (err) {
      throw fromPgError(err, 'reading alert status');
    }
  }
}
