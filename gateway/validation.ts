import { Ajv, type AnySchema, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CJS; its default export arrives wrapped under ESM interop.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * Request validation with the same settings as the shared Ajv in schemas/validate.ts, with
 * two deliberate differences from Fastify's defaults:
 *  - unknown fields are errors (UNKNOWN_FIELD), never silently stripped (`removeAdditional`);
 *  - bodies are never coerced ("12" is not a temperature), while query strings, params and
 *    headers are, because on the wire they are always strings.
 * Two private instances instead of the shared one because Fastify hands us copies of route
 * schemas, and Ajv refuses to compile two objects with the same `$id` in one instance.
 */
const BASE: Options = {
  allErrors: false, // all-errors mode on untrusted input is a DoS vector
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  addUsedSchema: false,
};

function makeAjv(coerce: boolean, externalSchemas: Record<string, AnySchema | AnySchema[]>): Ajv {
  const ajv = new Ajv({ ...BASE, coerceTypes: coerce ? 'array' : false });
  addFormats(ajv);
  for (const s of Object.values(externalSchemas)) ajv.addSchema(s);
  return ajv;
}

function compileIn(ajv: Ajv, schema: AnySchema): ValidateFunction {
  const id = typeof schema === 'object' && schema !== null ? (schema as { $id?: unknown }).$id : undefined;
  if (typeof id === 'string') {
    const stored = ajv.getSchema(id);
    if (stored) return stored;
  }
  return ajv.compile(schema);
}

/**
 * A binary body (`format: 'binary'`, an upload): JSON Schema has no type for bytes, and the
 * route's own content-type parser hands over a Buffer whose contents the route checks itself
 * (an image is decoded). The schema is there for the OpenAPI document.
 */
function isBinary(schema: AnySchema): boolean {
  return (
    typeof schema === 'object' && schema !== null && (schema as { format?: unknown }).format === 'binary'
  );
}

/** Fastify `schemaController.compilersFactory.buildValidator`: one pair of instances per schema context. */
export function buildValidator(externalSchemas: Record<string, AnySchema | AnySchema[]>) {
  const bodies = makeAjv(false, externalSchemas);
  const strings = makeAjv(true, externalSchemas);
  return ({ schema, httpPart }: { schema: AnySchema; httpPart?: string }): ValidateFunction =>
    httpPart === 'body' && isBinary(schema)
      ? compileIn(bodies, {})
      : compileIn(httpPart === 'body' ? bodies : strings, schema);
}
