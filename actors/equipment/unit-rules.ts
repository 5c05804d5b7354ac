import type { Logger, Pool } from '../../schemas/mod.ts';
import type { DeciderRule, UnitInfo } from './equipment.decider.ts';
import { RuleBook } from './equipment.repo.ts';
import { rulesForUnit } from './equipment.rules.ts';

/**
 * Each unit's enabled, supported rules, resolved from its tenant's rule rows and kept per unit
 * until the rules change (a `ctl.rules.changed`, or the host's periodic reload in case one was
 * missed — NATS core messages are not stored). Unsupported or invalid rules are reported once.
 */
export class UnitRules {
  readonly #book: RuleBook;
  readonly #log: Logger;
  readonly #warned = new Set<string>();
  readonly #resolved = new Map<string, { version: number; siteId: string; rules: DeciderRule[] }>();
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
    const { rules, skipped } = rulesForUnit(await this.#book.rowsFor(unit.tenantId), unit);
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
  }

  /** Forget everything: rules load again on demand. */
  clear(): void {
    this.#book.clear();
    this.#version++;
  }
}
