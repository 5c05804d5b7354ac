import type { AlertRuleRow, Pool } from '../../schemas/mod.ts';
import { fromPgError } from '../errors.ts';
import type { MaintenanceWindow, UnitInfo } from './equipment.types.ts';

/**
 * PostgreSQL reads of the equipment actors, as `vigil_worker` (a system role that sees every
 * tenant). Rules are cached per tenant and reloaded on `ctl.rules.changed`; unit metadata and
 * maintenance windows are looked up when an actor starts and refreshed by the service (windows
 * also on `ctl.maintenance.changed`).
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

export type UnitLookup =
  { ok: true; unit: UnitInfo; maintenance: MaintenanceWindow[] } | { ok: false; reason: string };

interface WindowJson {
  start: number;
  end: number;
}

interface UnitRow {
  id: string;
  tenant_id: string;
  site_id: string;
  setpoint: number | null;
  timezone: string;
  watch_zone_id: string | null;
  decommissioned: boolean;
  windows: WindowJson[];
}

/** Most windows kept per unit: a unit with more current or scheduled windows than this is misused. */
const MAX_WINDOWS = 200;

/**
 * A unit's maintenance windows that can still matter: ending after `$2` (the oldest reading
 * time the streams accept), soonest first, as epoch ms. `unit` is the SQL of the unit's id.
 */
const windowsOf = (unit: string): string => `COALESCE((
    SELECT json_agg(json_build_object('start', w.s, 'end', w.e) ORDER BY w.s)
      FROM (SELECT round(extract(epoch FROM window_start) * 1000)::float8 AS s,
                   round(extract(epoch FROM window_end) * 1000)::float8 AS e
              FROM maintenance_records
             WHERE equipment_id = ${unit} AND window_end IS NOT NULL AND window_end > $2
             ORDER BY window_start LIMIT ${MAX_WINDOWS}) w), '[]'::json)`;

export type AlertStatus = 'active' | 'acknowledged' | 'resolved';

const UNIT_SELECT = `SELECT e.id, e.tenant_id, e.site_id, e.setpoint, s.timezone, e.watch_zone_id,
       e.decommissioned_at IS NOT NULL AS decommissioned, ${windowsOf('e.id')} AS windows
  FROM equipment e JOIN sites s ON s.id = e.site_id`;

export class UnitDirectory {
  readonly #pool: Pool;
  /**
   * Every unit of a tenant, read in one query and kept for `batchTtlMs`. Actors start in
   * bursts — a node taking partitions over restores thousands at once — and one query for the
   * tenant replaces one per unit (10,000 units: one round trip instead of 10,000).
   */
  readonly #batches = new Map<string, { at: number; rows: Promise<Map<string, UnitRow>> }>();
  readonly #batchTtlMs: number;
  readonly #batchMax: number;
  /**
   * Unknown (tenant, unit) pairs are remembered briefly, so a flood for a bogus unit costs one
   * query a second. Keyed by the pair: a reading mis-addressed to another tenant's unit must not
   * make the owner's own readings look unknown.
   */
  readonly #missing = new Map<string, { until: number; reason: string }>();
  readonly #missTtlMs: number;
  readonly #horizonMs: number;

  /**
   * `horizonMs`: how old a reading may be (windows that ended before that cannot matter).
   * `batchTtlMs`: how long a tenant's batch answers lookups (its staleness bound);
   * `batchMax`: most units one batch reads (a larger tenant's other units are read one by one).
   */
  constructor(
    pool: Pool,
    opts: { missTtlMs?: number; horizonMs?: number; batchTtlMs?: number; batchMax?: number } = {},
  ) {
    this.#pool = pool;
    this.#missTtlMs = opts.missTtlMs ?? 1000;
    this.#horizonMs = opts.horizonMs ?? 7 * 86_400_000;
    this.#batchTtlMs = opts.batchTtlMs ?? 5000;
    this.#batchMax = opts.batchMax ?? 50_000;
  }

  /** The tenant's units by id, from a batch at most `batchTtlMs` old (concurrent callers share one). */
  #batch(tenantId: string, now: number): Promise<Map<string, UnitRow>> {
    const current = this.#batches.get(tenantId);
    if (current && now - current.at < this.#batchTtlMs) return current.rows;
    for (const [t, b] of this.#batches) if (now - b.at >= this.#batchTtlMs) this.#batches.delete(t);
    const rows = this.#pool
      .query<UnitRow>(`${UNIT_SELECT} WHERE e.tenant_id = $1 LIMIT ${this.#batchMax}`, [
        tenantId,
        new Date(now - this.#horizonMs),
      ])
      .then((r) => new Map(r.rows.map((row) => [row.id, row])));
    // Never keep a failure: the next lookup tries again.
    rows.catch(() => {
      if (this.#batches.get(tenantId)?.rows === rows) this.#batches.delete(tenantId);
    });
    this.#batches.set(tenantId, { at: now, rows });
    return rows;
  }

  async lookup(tenantId: string, equipmentId: string, now = Date.now()): Promise<UnitLookup> {
    const missKey = `${tenantId}/${equipmentId}`;
    const miss = this.#missing.get(missKey);
    if (miss && miss.until > now) return { ok: false, reason: miss.reason };
    let row: UnitRow | undefined;
    try {
      // A unit the tenant's batch does not hold may be newer than the batch: ask for it alone.
      row = (await this.#batch(tenantId, now)).get(equipmentId);
      if (!row) {
        const r = await this.#pool.query<UnitRow>(`${UNIT_SELECT} WHERE e.id = $1`, [
          equipmentId,
          new Date(now - this.#horizonMs),
        ]);
        row = r.rows[0];
      }
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
      this.#missing.set(missKey, { until: now + this.#missTtlMs, reason: why });
      return { ok: false, reason: why };
    }
    this.#missing.delete(missKey);
    return {
      ok: true,
      unit: {
        tenantId: row.tenant_id,
        siteId: row.site_id,
        equipmentId: row.id,
        setpoint: row.setpoint,
        timeZone: row.timezone,
        watchZoneId: row.watch_zone_id,
      },
      maintenance: row.windows,
    };
  }

  /** A unit of the tenant changed (`ctl.equipment.changed`): the next lookup reads afresh. */
  forgetTenant(tenantId: string): void {
    this.#batches.delete(tenantId);
  }

  /** The unit's maintenance windows (after `ctl.maintenance.changed`). */
  async maintenance(equipmentId: string, now = Date.now()): Promise<MaintenanceWindow[]> {
    try {
      const r = await this.#pool.query<{ windows: WindowJson[] }>(`SELECT ${windowsOf('$1')} AS windows`, [
        equipmentId,
        new Date(now - this.#horizonMs),
      ]);
      return r.rows[0]?.windows ?? [];
    } catch (err) {
      throw fromPgError(err, 'loading maintenance windows');
    }
  }

  /**
   * Status in the database of the alerts among `alertIds` that people moved on while no actor
   * watched, or while a control message got lost: acknowledged or resolved.
   *
   * Only what people did. An alert the system resolved — the actor's own `alert.resolved`,
   * stored by the sink before the actor's commit landed, or a provisional supersession — is
   * the actor's to resolve: a restored actor replays the readings since its snapshot and
   * reaches that resolution itself, while one that forgot the alert first would reopen it on
   * the replayed breach.
   */
  async alertStatuses(alertIds: readonly string[]): Promise<Map<string, AlertStatus>> {
    if (alertIds.length === 0) return new Map();
    try {
      const r = await this.#pool.query<{ id: string; status: AlertStatus }>(
        `SELECT id, status FROM alerts
          WHERE id = ANY($1::uuid[])
            AND (status = 'acknowledged' OR (status = 'resolved' AND resolved_by IS NOT NULL))`,
        [alertIds],
      );
      return new Map(r.rows.map((x) => [x.id, x.status]));
    } catch (err) {
      throw fromPgError(err, 'reading alert status');
    }
  }
}
