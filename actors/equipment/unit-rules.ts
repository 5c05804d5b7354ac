import type { Logger, Pool } from '../../schemas/mod.ts';
import type { DeciderRule, UnitInfo } from './equipment.decider.ts';
import { RuleBook } from './equipment.repo.ts';
import { applicableRows, rulesOfRows, type ResolvedRules } from './equipment.rules.ts';

/**
 * Each unit's enabled, supported rules, resolved from its tenant's rule rows and kept per unit
 * until the rules change (a `ctl.rules.changed`, or the host's periodic reload in case one was
 * missed — NATS core messages are not stored). Unsupported or invalid rules are reported once.
 * Units whose applicable rows are the same rows (most of a tenant's) share one resolved list:
 * one set of rule objects per distinct set, not per unit, and one schedule cache per rule.
 */
export class UnitRules {
  readonly #book: RuleBook;
  readonly #log: Logger;
  readonly #warned = new Set<string>();
  readonly #resolved = new Map<string, { version: number; siteId: string; rules: DeciderRule[] }>();
  /** Resolved lists by the ids of the rows they come from (this version's). */
  readonly #byRows = new Map<string, ResolvedRules>();
  #version = 0;

  constructor(pool: Pool, log: Logger) {
    this.#book = new RuleBook(pool);
    this.#log = log;
  }

  /** Rules skipped so far (reported once each). */
  get skipped(): number {
    return this.#warned.size;
  }

  async rulesFor(unit: UnitInfo): Promise<DeciderRule[]> {
    const version = this.#version;
    const cached = this.#resolved.get(unit.equipmentId);
    if (cached && cached.version === version && cached.siteId === unit.siteId) return cached.rules;
    const rows = applicableRows(await this.#book.rowsFor(unit.tenantId), unit);
    const key = rows.map((r) => r.id).join(',');
    let shared = this.#byRows.get(key);
    if (!shared) {
      shared = rulesOfRows(rows);
      if (version === this.#version) this.#byRows.set(key, shared);
    }
    const { rules, skipped } = shared;
    for (const s of skipped) {
      const key = `${s.ruleId}:${s.code}`;
      if (this.#warned.has(key)) continue;
      this.#warned.add(key);
      this.#log.warn(
        { ruleId: s.ruleId, ruleKey: s.key, kind: s.kind, code: s.code, reason: s.reason },
        'alert rule skipped',
      );
    }
    // Resolved while the rules changed: good for this lookup, not for the next.
    if (version === this.#version)
      this.#resolved.set(unit.equipmentId, { version, siteId: unit.siteId, rules });
    return rules;
  }

  /** Reload one tenant's rules (null: the global ones, which every unit has). */
  async reload(tenantId: string | null): Promise<void> {
    await this.#book.reload(tenantId);
    this.#version++;
    this.#byRows.clear();
  }

  /** Forget everything: rules load again on demand. */
  clear(): void {
    this.#book.clear();
    this.#version++;
    this.#byRows.clear();
  }
}
