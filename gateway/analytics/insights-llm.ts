import { choosePhrasing, type Finding } from './insights.ts';

/**
 * Phrasing of findings by an OpenAI-compatible chat completions endpoint. The request holds the
 * findings' sentences and nothing else (no ids, no other tenant's data); each phrasing is
 * accepted only when it keeps the sentence's numbers (insights.ts), and any failure — network,
 * status, shape, timeout — leaves Vigil's own sentences.
 */
/** What phrasing logs through: Fastify's request logger or pino. */
interface WarnLog {
  warn(obj: object, msg: string): void;
}

export interface LlmConfig {
  url: string;
  key: string | undefined;
  model: string;
  timeoutMs: number;
}

export interface PhrasedFinding extends Finding {
  productText: string;
  phrased: boolean;
}

const SYSTEM = [
  'You rewrite analytics findings for a store owner in plain, friendly English.',
  'Keep every number exactly as written (digits, decimals, signs and % signs); add no other numbers.',
  'Answer with JSON only: {"phrasings": ["...", ...]}, one phrasing per finding, in the same order.',
].join(' ');

function parsePhrasings(body: unknown, n: number): Array<string | null> {
  const content = (body as { choices?: Array<{ message?: { content?: unknown } }> })?.choices?.[0]?.message
    ?.content;
  if (typeof content !== 'string') return new Array<string | null>(n).fill(null);
  try {
    const list = (JSON.parse(content) as { phrasings?: unknown }).phrasings;
    if (!Array.isArray(list)) return new Array<string | null>(n).fill(null);
    return Array.from({ length: n }, (_, i) => (typeof list[i] === 'string' ? (list[i] as string) : null));
  } catch {
    return new Array<string | null>(n).fill(null);
  }
}

export async function phraseFindings(
  findings: readonly Finding[],
  llm: LlmConfig | null,
  log: WarnLog,
): Promise<{ findings: PhrasedFinding[]; model: string | null }> {
  const own = findings.map((f) => ({ ...f, productText: f.text, phrased: false }));
  if (!llm || findings.length === 0) return { findings: own, model: null };
  let phrasings: Array<string | null>;
  try {
    const res = await fetch(`${llm.url.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(llm.key ? { authorization: `Bearer ${llm.key}` } : {}),
      },
      body: JSON.stringify({
        model: llm.model,
        temperature: 0,
        response_format: { type: 'json_object' },
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: JSON.stringify({ findings: findings.map((f) => f.text) }) },
        ],
      }),
      signal: AbortSignal.timeout(llm.timeoutMs),
    });
    if (!res.ok) throw new Error(`status ${res.status}`);
    phrasings = parsePhrasings(await res.json(), findings.length);
  } catch (err) {
    log.warn({ err }, 'insights not phrased by the language model; using Vigil’s own text');
    return { findings: own, model: null };
  }
  const out = findings.map((f, i) => {
    const chosen = choosePhrasing(f.text, phrasings[i]);
    if (phrasings[i] && !chosen.phrased) log.warn({ kind: f.kind }, 'phrasing changed a number; rejected');
    return { ...f, text: chosen.text, productText: f.text, phrased: chosen.phrased };
  });
  return { findings: out, model: out.some((f) => f.phrased) ? llm.model : null };
}
