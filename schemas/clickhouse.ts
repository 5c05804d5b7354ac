import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from './config.ts';

/**
 * The one place values become ClickHouse SQL text. ClickHouse 18.16 has no query parameters,
 * so every value in a query passes through `chValue` (or the `chSql` tag that calls it);
 * inserts go as JSONEachRow bodies and never touch SQL at all.
 */
export type ChValue = string | number | bigint | boolean | Date | null | undefined | readonly ChValue[];

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

export function chString(s: string): string {
  return `'${s.replace(/[\\'\n\r\t\0\b\f]/g, (c) => ESCAPES[c] ?? c)}'`;
}

export function chValue(v: ChValue): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return chString(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot send non-finite number ${v} to ClickHouse`);
    return String(v);
  }
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new TypeError('cannot send an invalid Date to ClickHouse');
    // Seconds precision, UTC: portable across 18.16 (DateTime only) and current releases.
    return `toDateTime(${Math.floor(v.getTime() / 1000)}, 'UTC')`;
  }
  if (Array.isArray(v)) return `[${v.map(chValue).join(', ')}]`;
  throw new TypeError(`unsupported ClickHouse value of type ${typeof v}`);
}

export function chIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`invalid ClickHouse identifier: ${name}`);
  return name;
}

/** Tagged template: `chSql\`SELECT * FROM t WHERE id = ${id}\`` with every value escaped. */
export function chSql(strings: TemplateStringsArray, ...values: ChValue[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += chValue(v) + (strings[i + 1] ?? '');
  });
  return out;
}

export function createClickHouse(
  config: Config,
  database: string | null = config.CLICKHOUSE_DATABASE,
): ClickHouseClient {
  return createClient({
    url: config.CLICKHOUSE_URL,
    ...(database ? { database } : {}),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
    request_timeout: config.CLICKHOUSE_REQUEST_TIMEOUT_MS,
    compression: { request: false, response: false },
  });
}
