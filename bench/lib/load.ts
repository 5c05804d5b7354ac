export interface BenchReading {
  tenantId: string;
  equipmentId: string;
  /** Encoded reading body. */
  body: Uint8Array;
  /** `Nats-Msg-Id`: `<tenant>.<equipment>.<ts>`, what publishReading derives from an object. */
  msgId: string;
}

const encoder = new TextEncoder();

/** Normal chiller temperatures, all below the bench rule's clear threshold (5 °C). */
const TEMPERATURES = [2.1, 2.3, 2.5, 2.7, 2.9, 3.1, 3.3] as const;

/**
 * The readings a run publishes: `total` readings spread round-robin over the units (so every
 * partition gets its share at every moment), one second apart per unit, all in the recent
 * past, below every alert threshold and of the same size. Deterministic for a given start time, so the raw
 * JetStream phase and the end-to-end phase publish the very same bytes.
 */
export class Load {
  readonly tenantId: string;
  readonly unitIds: readonly string[];
  readonly total: number;
  readonly #firstTs: number;
  readonly #stepMs: number;

  constructor(
    tenantId: string,
    unitIds: readonly string[],
    total: number,
    now: number,
    stepMs = 1000,
    firstTs?: number,
  ) {
    if (unitIds.length === 0) throw new RangeError('a load needs at least one unit');
    this.tenantId = tenantId;
    this.unitIds = unitIds;
    this.total = total;
    this.#stepMs = stepMs;
    const rounds = Math.ceil(total / unitIds.length);
    // Round -1 is the warm-up; the last round lands a minute before `now`.
    this.#firstTs = firstTs ?? now - (rounds + 1) * stepMs - 60_000;
  }

  /**
   * The load that follows this one on the same units: its first round one step after this
   * one's last, so no reading repeats a (unit, ts) — JetStream's duplicate window would drop
   * it — and every unit's readings keep increasing.
   */
  after(total: number): Load {
    const lastTs = this.#firstTs + Math.ceil(this.total / this.unitIds.length) * this.#stepMs;
    return new Load(this.tenantId, this.unitIds, total, 0, this.#stepMs, lastTs);
  }

  #reading(unit: number, round: number, seq: number): BenchReading {
    const equipmentId = this.unitIds[unit]!;
    const ts = this.#firstTs + (round + 1) * this.#stepMs;
    // Every body has the same length: 13-digit ts, a 3-character temperature, constant flags.
    const body = {
      ts,
      temperature: TEMPERATURES[seq % TEMPERATURES.length],
      setpoint: 3,
      door: false,
      compressor: true,
      fan: true,
    };
    return {
      tenantId: this.tenantId,
      equipmentId,
      body: encoder.encode(JSON.stringify(body)),
      msgId: `${this.tenantId}.${equipmentId}.${ts}`,
    };
  }

  /** One reading per unit, older than every reading of the load: loads the actors first. */
  *warmup(): Generator<BenchReading> {
    for (let u = 0; u < this.unitIds.length; u++) yield this.#reading(u, -1, u);
  }

  *readings(): Generator<BenchReading> {
    const m = this.unitIds.length;
    for (let i = 0; i < this.total; i++) yield this.#reading(i % m, Math.floor(i / m), i);
  }
}

/**
 * Consecutive loads on the same units, each following the one before (`Load.after`), the last
 * round of the last landing a minute before `now`: a run that publishes them one after another
 * (warm-up, timed load, paced load) never publishes a reading from the future, and each unit's
 * readings keep increasing across them.
 */
export function loadChain(
  tenantId: string,
  unitIds: readonly string[],
  totals: readonly number[],
  now: number,
  stepMs: number,
): Load[] {
  const rounds = totals.reduce((n, t) => n + Math.ceil(t / unitIds.length), 0);
  const loads: Load[] = [];
  for (const total of totals) {
    const prev = loads.at(-1);
    loads.push(
      prev
        ? prev.after(total)
        : new Load(tenantId, unitIds, total, now, stepMs, now - 60_000 - rounds * stepMs),
    );
  }
  return loads;
}
