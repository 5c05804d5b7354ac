/**
 * PostgreSQL `text` and `jsonb` cannot hold U+0000: a NUL reaching a query fails it with an
 * error that is the caller's fault but looks like ours. Input is screened for it once, where it
 * enters (the gateway's request hook), so no route has to think about it.
 */

/**
 * JSON pointer (RFC 6901) of the first string or object key in `value` that contains U+0000;
 * null when there is none. Iterative: a deeply nested body must not overflow the stack.
 */
export function findNul(value: unknown): string | null {
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path: '' }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { v, path } = item;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
    } else if (ArrayBuffer.isView(v)) {
      // Bytes (an uploaded image) are not text, and walking them key by key would take long.
      continue;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}/${i}` });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        const at = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (k.includes('\u0000')) return at.replaceAll('\u0000', '\\u0000');
        stack.push({ v: child, path: at });
      }
    }
  }
  return null;
}

/** Largest epoch-ms magnitude a Date holds (ECMA-262 time value range). */
const MAX_DATE_MS = 8.64e15;

/**
 * A time for an error message: ISO-8601 when it is a date at all. 1e20 ms is not, and
 * toISOString would throw while the rejection is being written, turning bad input into INTERNAL.
 */
export function describeTime(ms: number): string {
  return Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
}
