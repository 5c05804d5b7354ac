import { sha256 } from './identity/mod.ts';

/** The equipment unit an API key belongs to. */
export interface DeviceIdentity {
  tenantId: string;
  equipmentId: string;
  siteId: string;
}

export type DeviceLookup = (keyHash: Buffer) => Promise<DeviceIdentity | null>;

export interface ApiKeyCacheOptions {
  /** How long a found key is trusted without asking PostgreSQL: bounds how late a revocation bites. */
  ttlMs?: number;
  /** How long an unknown key is remembered: a device retrying with a wrong key costs one query per period. */
  negativeTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  expires: number;
  value: Promise<DeviceIdentity | null>;
  /** The unit the key resolved to; undefined while the lookup runs, null for an unknown key. */
  device?: DeviceIdentity | null;
}

/** Keys are 256-bit random strings; anything far outside that shape is refused without a query. */
const MIN_KEY_LENGTH = 16;
const MAX_KEY_LENGTH = 256;

/**
 * In-process API key → device cache keyed by the key's hash (the key itself is never stored).
 * Concurrent requests with the same key share one lookup; failed lookups (database down) are
 * not cached, so the next request tries again. Changes made through the API evict entries at
 * once (control messages, see telemetry.routes.ts); the TTL bounds how long a change this
 * process never heard of can go unnoticed.
 */
export class ApiKeyCache {
  readonly #lookup: DeviceLookup;
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(lookup: DeviceLookup, opts: ApiKeyCacheOptions = {}) {
    this.#lookup = lookup;
    this.#ttlMs = Math.min(opts.ttlMs ?? 30_000, 30_000);
    this.#negativeTtlMs = Math.min(opts.negativeTtlMs ?? 10_000, this.#ttlMs);
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  async resolve(key: string | undefined): Promise<DeviceIdentity | null> {
    if (!key || key.length < MIN_KEY_LENGTH || key.length > MAX_KEY_LENGTH) return null;
    const hash = sha256(key);
    const id = hash.toString('base64');
    const now = this.#now();
    const hit = this.#entries.get(id);
    if (hit && hit.expires > now) return hit.value;
    if (hit) this.#entries.delete(id);

    const entry: Entry = { expires: now + this.#ttlMs, value: this.#lookup(hash) };
    this.#insert(id, entry);
    try {
      const found = await entry.value;
      entry.device = found;
      if (!found) entry.expires = now + this.#negativeTtlMs;
      return found;
    } catch (err) {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
      throw err;
    }
  }

  /**
   * Forget the keys of one unit (its key was rotated or revoked, it was decommissioned), and
   * every lookup still running: it may have read the key before the change committed.
   * Returns how many entries went.
   */
  evictEquipment(equipmentId: string): number {
    return this.#evict((d) => d.equipmentId === equipmentId);
  }

  /** Forget the keys of every unit of a tenant (suspended: its keys stop working). */
  evictTenant(tenantId: string): number {
    return this.#evict((d) => d.tenantId === tenantId);
  }

  #evict(matches: (d: DeviceIdentity) => boolean): number {
    let evicted = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.device === null) continue;
      if (entry.device === undefined || matches(entry.device)) {
        this.#entries.delete(id);
        evicted++;
      }
    }
    return evicted;
  }

  #insert(id: string, entry: Entry): void {
    // Map iteration is insertion order, so the first key is the oldest: a cheap FIFO bound
    // that stops a flood of random keys from growing memory without limit.
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(id, entry);
  }
}
