import type { JsMsg } from '@nats-io/jetstream';
import type { Static, TSchema } from '@sinclair/typebox';
import { compile, describeErrors } from '../schemas/mod.ts';
import type { Decoded } from './consumer.ts';

/**
 * A consumer's `decode` for JSON messages of one schema (compiled once): unparseable bytes are
 * `BAD_JSON`, a value the schema refuses is `VALIDATION_FAILED` with the reasons.
 */
export function jsonDecoder<T extends TSchema>(schema: T): (msg: JsMsg) => Decoded<Static<T>> {
  const check = compile(schema);
  return (msg) => {
    const parsed = parseJson(msg);
    return parsed.ok ? checkedAgainst(check, parsed.value) : parsed;
  };
}

/** A message's JSON body, or `BAD_JSON` with the parser's reason. */
export function parseJson(msg: JsMsg): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(msg.data).toString('utf8')) };
  } catch (err) {
    return { ok: false, code: 'BAD_JSON', reason: (err as Error).message };
  }
}

/** `value` if the compiled schema accepts it, else `VALIDATION_FAILED` with the reasons. */
export function checkedAgainst<T>(
  check: ((v: unknown) => v is T) | ((v: unknown) => boolean),
  value: unknown,
): Decoded<T> {
  if (!check(value))
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      reason: describeErrors((check as unknown as { errors: Parameters<typeof describeErrors>[0] }).errors),
    };
  return { ok: true, value: value as T };
}
