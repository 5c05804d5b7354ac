/**
 * Insights: findings written from Vigil's own statistics, each sentence carrying its numbers.
 * A language model may rephrase them, but only a phrasing that keeps every number of the
 * product's sentence unchanged — and adds none — is accepted; anything else falls back to the
 * product's own text. Pure: the model call lives in insights-llm.ts.
 */
export type FindingKind = 'promotion_lift' | 'spike' | 'dwell_change' | 'unattended_doors';

export interface Finding {
  kind: FindingKind;
  /** The product's own sentence. */
  text: string;
  /** The figures behind it, for clients that draw them. */
  figures: Record<string, number | string | null>;
}

export const fmtPct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}%`;
const fmtNum = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));

export interface PromotionStat {
  name: string;
  metric: string;
  from: string;
  to: string;
  liftPct: number | null;
  during: number;
  baseline: number;
}

export interface SpikeStat {
  day: string;
  metric: string;
  scope: string;
  value: number;
  baseline: number;
  liftPct: number | null;
  weeks: number;
}

export interface DwellStat {
  zone: string;
  dwellMedianS: number;
  baselineMedianS: number;
  weeks: number;
}

export interface InsightStats {
  promotions: PromotionStat[];
  spikes: SpikeStat[];
  dwell: DwellStat[];
  unattendedDoors?: Array<{ unit: string; count: number; total: number }>;
}

/** Dwell changes smaller than this share are not worth a sentence. */
const DWELL_NOTABLE = 0.1;

export function buildFindings(stats: InsightStats): Finding[] {
  const out: Finding[] = [];
  for (const p of stats.promotions) {
    if (p.liftPct === null) continue;
    out.push({
      kind: 'promotion_lift',
      text: `${p.metric} ${fmtPct(p.liftPct)} during '${p.name}' (${p.from} to ${p.to}) against the period before it: ${fmtNum(p.during)} vs ${fmtNum(p.baseline)}.`,
      figures: { ...p },
    });
  }
  for (const s of stats.spikes) {
    if (s.liftPct === null) continue;
    out.push({
      kind: 'spike',
      text: `${s.scope} ${s.metric} on ${s.day} was ${fmtNum(s.value)}, ${fmtPct(s.liftPct)} against the median of the same weekday over ${s.weeks} weeks (${fmtNum(s.baseline)}).`,
      figures: { ...s },
    });
  }
  for (const d of stats.dwell) {
    if (d.baselineMedianS <= 0) continue;
    const change = (d.dwellMedianS - d.baselineMedianS) / d.baselineMedianS;
    if (Math.abs(change) < DWELL_NOTABLE) continue;
    out.push({
      kind: 'dwell_change',
      text: `${d.zone} dwell ${fmtPct(change * 100)} against its ${d.weeks}-week median: ${fmtNum(d.dwellMedianS)} s vs ${fmtNum(d.baselineMedianS)} s.`,
      figures: { ...d, changePct: change * 100 },
    });
  }
  for (const u of stats.unattendedDoors ?? []) {
    if (u.count === 0) continue;
    out.push({
      kind: 'unattended_doors',
      text: `${u.unit}: ${u.count} of ${u.total} door openings had no one in front of it.`,
      figures: { ...u },
    });
  }
  return out;
}

/** The numbers of a text as written: digits with their decimals (`+34.0%` → `34.0`). */
export function numberTokens(text: string): string[] {
  return text.match(/\d+(?:\.\d+)?/g) ?? [];
}

function counts(tokens: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/**
 * A phrasing keeps the product's numbers when it has exactly the same numbers, each as often:
 * one altered, dropped or invented number rejects it. Signs are checked too — a '+' that became
 * a '−' (or "fell") is a different claim — by requiring every signed percent unchanged.
 */
export function keepsNumbers(product: string, phrased: string): boolean {
  const want = counts(numberTokens(product));
  const got = counts(numberTokens(phrased));
  if (want.size !== got.size) return false;
  for (const [t, n] of want) if (got.get(t) !== n) return false;
  for (const signed of product.match(/[+−-]\d+(?:\.\d+)?%/g) ?? [])
    if (!phrased.includes(signed)) return false;
  return true;
}

/** The product's text, or the phrasing when it keeps every number. */
export function choosePhrasing(
  product: string,
  phrased: string | null | undefined,
): { text: string; phrased: boolean } {
  if (phrased && phrased.trim() && keepsNumbers(product, phrased))
    return { text: phrased.trim(), phrased: true };
  return { text: product, phrased: false };
}
