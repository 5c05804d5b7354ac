import type { Logger, Pool } from '../../schemas/mod.ts';
import {
  subscribeControl,
  type Delivery,
  type NatsConnection,
  type Names,
  type Rejected,
  type StoredReading,
} from '../../streams/mod.ts';
import { fromPgError } from '../errors.ts';

/**
 * Which (tenant, unit) pairs the storage sinks may write. NATS permissions per device are the
 * first line against mis-addressed telemetry; this is the second: a reading published to
 * `tele.<tenant A>.<unit of tenant B>`, or to a unit that does not exist or is decommissioned,
 * is dead-lettered by every TELEMETRY consumer with the same verdict and reason as the
 * equipment actor gives it — never stored, where it would shadow the real owner's reading with
 * the same timestamp and mix tenants in one unit's rows.
 *
 * A unit's tenant never changes and units are never deleted, only decommissioned, so a cached
 * answer goes stale only by decommissioning or by creation (a miss). Both are announced on
 * `ctl.equipment.changed`, which evicts the entry; the TTLs are the backstop for a lost control
 * message. A lookup that was in flight while an eviction arrived is not cached: it may predate
 * the change.
 */

export interface RegisteredUnit {
  tenantId: string;
  decommissioned: boolean;
}

/** Why a reading for `equipmentId` under `tenantId` may not be stored; null when it may. */
export function unitVerdict(
  unit: RegisteredUnit | null,
  tenantId: string,
  equipmentId: string,
): string | null {
  if (!unit || unit.tenantId !== tenantId)
    return `equipment ${equipmentId} of tenant ${tenantId} does not exist`;
  if (unit.decommissioned) return `equipment ${equipmentId} is decommissioned`;
  return null;
}

interface Entry {
  unit: RegisteredUnit | null;
  until: number;
}

export interface UnitRegistryOptions {
  /** How long a known unit is trusted without a control message (decommissioning is announced). */
  hitTtlMs?: number;
  /** How long an unknown id is remembered: a flood for a bogus unit costs one query per period. */
  missTtlMs?: number;
  /** Most entries held; past it the cache starts over (a flood of random ids must not grow it). */
  maxEntries?: number;
}

export class UnitRegistry {
  readonly #pool: Pool;
  readonly #entries = new Map<string, Entry>();
  readonly #hitTtlMs: number;
  readonly #missTtlMs: number;
  readonly #maxEntries: number;
  /** Bumped by every eviction: a lookup started under an older generation is not cached. */
  #generation = 0;
  #lookups = 0;

  constructor(pool: Pool, opts: UnitRegistryOptions = {}) {
    this.#pool = pool;
    this.#hitTtlMs = opts.hitTtlMs ?? 60_000;
    this.#missTtlMs = opts.missTtlMs ?? 1000;
    this.#maxEntries = opts.maxEntries ?? 100_000;
  }

  /** Database round trips so far (the cache's effect is observable). */
  get lookups(): number {
    return this.#lookups;
  }

  /** The units behind `equipmentIds`, from the cache or one query for those not cached. */
  async units(equipmentIds: Iterable<string>, now = Date.now()): Promise<Map<string, RegisteredUnit | null>> {
    const out = new Map<string, RegisteredUnit | null>();
    const wanted: string[] = [];
    for (const id of new Set(equipmentIds)) {
      const e = this.#entries.get(id);
      if (e && e.until > now) out.set(id, e.unit);
      else wanted.push(id);
    }
    if (wanted.length === 0) return out;
    const generation = this.#generation;
    this.#lookups++;
    let rows: Array<{ id: string; tenant_id: string; decommissioned: boolean }>;
    try {
      rows = (
        await this.#pool.query<{ id: string; tenant_id: string; decommissioned: boolean }>(
          `SELECT id, tenant_id, decommissioned_at IS NOT NULL AS decommissioned
             FROM equipment WHERE id = ANY($1::uuid[])`,
          [wanted],
        )
      ).rows;
    } catch (err) {
      throw fromPgError(err, 'looking up equipment');
    }
    const found = new Map(
      rows.map((r) => [r.id, { tenantId: r.tenant_id, decommissioned: r.decommissioned }]),
    );
    const cache = generation === this.#generation;
    if (cache && this.#entries.size + wanted.length > this.#maxEntries) this.#entries.clear();
    for (const id of wanted) {
      const unit = found.get(id) ?? null;
      out.set(id, unit);
      if (cache) this.#entries.set(id, { unit, until: now + (unit ? this.#hitTtlMs : this.#missTtlMs) });
    }
    return out;
  }

  /**
   * Split a batch of decoded readings into those the sink may store and those to dead-letter
   * (code `UNKNOWN_EQUIPMENT`, with the reason).
   */
  async screen(
    batch: readonly Delivery<StoredReading>[],
  ): Promise<{ accepted: Delivery<StoredReading>[]; rejected: Rejected<StoredReading>[] }> {
    const units = await this.units(batch.map((d) => d.value.reading.equipmentId));
    const accepted: Delivery<StoredReading>[] = [];
    const rejected: Rejected<StoredReading>[] = [];
    for (const d of batch) {
      const { tenantId, equipmentId } = d.value.reading;
      const reason = unitVerdict(units.get(equipmentId) ?? null, tenantId, equipmentId);
      if (reason === null) accepted.push(d);
      else rejected.push({ delivery: d, code: 'UNKNOWN_EQUIPMENT', reason });
    }
    return { accepted, rejected };
  }

  /** Forget one unit (created, changed, decommissioned). */
  evict(equipmentId: string): void {
    this.#generation++;
    this.#entries.delete(equipmentId);
  }

  /** Evict a unit announced on `ctl.equipment.changed`. Returns the unsubscribe function. */
  follow(nc: NatsConnection, names: Names, log: Logger): () => void {
    const sub = subscribeControl(nc, names, 'equipmentChanged', log, (b) =>
      this.evict(b.equipmentId.toLowerCase()),
    );
    return () => {
      try {
        sub.unsubscribe();
      } catch {
        // The connection is already closed: so is the subscription.
      }
    };
  }
}
