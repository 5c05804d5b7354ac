import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Static, TSchema } from '@sinclair/typebox';
import { VigilError } from './errors.ts';

// ajv-formats is CJS; its default export arrives wrapped under ESM interop.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * The single Ajv instance shared by Fastify routes and NATS consumers. Schemas are compiled
 * once and cached by object identity, so per-message validation is a function call.
 * `coerceTypes` stays off: a string "12" is not a temperature.
 */
export const ajv = new Ajv({
  allErrors: false,
  removeAdditional: false,
  useDefaults: true,
  coerceTypes: false,
  strict: false,
});
addFormats(ajv);

const compiled = new WeakMap<TSchema, ValidateFunction>();

export function compile<T extends TSchema>(schema: T): (value: unknown) => value is Static<T> {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn as (value: unknown) => value is Static<T>;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  return errors
    .map((e) => {
      const where = e.instancePath || '/';
      if (e.keyword === 'additionalProperties') {
        return `${where}: unknown field '${String((e.params as { additionalProperty: string }).additionalProperty)}'`;
      }
      return `${where}: ${e.message ?? e.keyword}`;
    })
    .join('; ');
}

/** Validate or throw a VALIDATION_FAILED / UNKNOWN_FIELD error with a readable reason. */
export function assertValid<T extends TSchema>(schema: T, value: unknown): Static<T> {
  const check = compile(schema);
  if (check(value)) return value;
  const errors = (check as unknown as ValidateFunction).errors;
  const unknownField = errors?.some((e) => e.keyword === 'additionalProperties');
  throw new VigilError(unknownField ? 'UNKNOWN_FIELD' : 'VALIDATION_FAILED', describeErrors(errors), {
    details: errors?.map((e) => ({ path: e.instancePath, keyword: e.keyword, message: e.message })),
  });
}
