/**
 * The route table as the live app documents it (OpenAPI at /openapi.json), and request values
 * synthesised from its schemas: tests driven by this cover a route the day it is added.
 */
import type { FastifyInstance } from 'fastify';

export interface JsonSchema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
  nullable?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  exclusiveMinimum?: number | boolean;
}

interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema?: JsonSchema;
  /** OpenAPI moves a parameter's schema `examples` up here (@fastify/swagger does). */
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  security?: Record<string, unknown>[];
}

export interface Route {
  method: string;
  /** OpenAPI path, e.g. /v1/sites/{id}. */
  path: string;
  pathParams: string[];
  /** Query parameters that take an id (format uuid). */
  idQueryParams: string[];
  requiredQuery: Parameter[];
  body: JsonSchema | null;
  /** The body is not JSON (an upload, say): these tests cannot synthesise one, unless an image. */
  nonJsonBody: boolean;
  /** The body is an image upload, of this media type: `SAMPLE_PNG` makes a valid one. */
  imageBody: string | null;
  /** Server-sent events: a response that never ends, tested by the gateway's SSE tests. */
  streaming: boolean;
  /** Declares bearer (user) authentication. */
  bearer: boolean;
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

export function routeTable(app: FastifyInstance): Route[] {
  const doc = app.swagger() as { paths?: Record<string, Record<string, Operation>> };
  const routes: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.has(method)) continue;
      const params = op.parameters ?? [];
      const streaming = Object.values(op.responses ?? {}).some(
        (r) => r.content && 'text/event-stream' in r.content,
      );
      routes.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        idQueryParams: params
          .filter((p) => p.in === 'query' && p.schema?.format === 'uuid')
          .map((p) => p.name),
        requiredQuery: params.filter((p) => p.in === 'query' && p.required && p.schema?.format !== 'uuid'),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
        nonJsonBody: !!op.requestBody?.content && !('application/json' in op.requestBody.content),
        imageBody: Object.keys(op.requestBody?.content ?? {}).find((t) => t.startsWith('image/')) ?? null,
        streaming,
        bearer: (op.security ?? []).some((req) => 'bearerAuth' in req),
      });
    }
  }
  return routes;
}

/** A 2×2 grey PNG: a valid body for any route that takes an image upload. */
export const SAMPLE_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAADklEQVR4nGNoAAMGCAUAKg4GARWeQtcAAAAASUVORK5CYII=',
  'base64',
);

/** Does this schema (or anything inside it) hold an id? */
export function holdsId(s: JsonSchema | undefined): boolean {
  if (!s) return false;
  if (s.format === 'uuid') return true;
  if (s.items && holdsId(s.items)) return true;
  if (s.properties && Object.values(s.properties).some(holdsId)) return true;
  return [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])].some(holdsId);
}

function isNullSchema(s: JsonSchema): boolean {
  return s.type === 'null' || (s.enum?.length === 1 && s.enum[0] === null);
}

/**
 * A value the schema accepts: examples and defaults first, then the smallest value of each
 * type. Every id (format uuid) is `id`, and optional properties that hold ids are included,
 * because that is where a reference to another tenant's object would sneak in.
 */
export function sample(s: JsonSchema, id: string): unknown {
  if (s.format === 'uuid') return id;
  if (s.examples?.length) return s.examples[0];
  if (s.example !== undefined) return s.example;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum.find((v) => v !== null) ?? s.enum[0];
  const branches = s.anyOf ?? s.oneOf;
  if (branches?.length) return sample(branches.find((b) => !isNullSchema(b)) ?? branches[0]!, id);
  if (s.allOf?.length) return Object.assign({}, ...s.allOf.map((b) => sample(b, id)));
  if (s.default !== undefined) return s.default;
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type ?? (s.properties ? 'object' : undefined)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      for (const [name, prop] of Object.entries(props)) {
        if (required.has(name) || holdsId(prop)) out[name] = sample(prop, id);
      }
      for (const [name, prop] of Object.entries(props)) {
        if (Object.keys(out).length >= (s.minProperties ?? 0)) break;
        if (!(name in out)) out[name] = sample(prop, id);
      }
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(s.minItems ?? 0, s.items && holdsId(s.items) ? 1 : 0) }, () =>
        sample(s.items ?? {}, id),
      );
    case 'string':
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'date') return new Date().toISOString().slice(0, 10);
      if (s.format === 'email') return 'someone@example.com';
      if (s.format === 'uri') return 'https://example.com/';
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
    case 'number': {
      const min =
        typeof s.minimum === 'number'
          ? s.minimum
          : typeof s.exclusiveMinimum === 'number'
            ? s.exclusiveMinimum + 1
            : 1;
      return min;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** The concrete URL of `route` with every path parameter set to `id`, plus query values. */
export function urlFor(route: Route, id: string, query: Record<string, string> = {}): string {
  const path = route.path.replace(/\{[^}]+\}/g, id);
  const q = new URLSearchParams(query);
  for (const p of route.requiredQuery) {
    if (q.has(p.name)) continue;
    const example = p.example ?? Object.values(p.examples ?? {})[0]?.value;
    if (example !== undefined) q.set(p.name, String(example));
    else if (p.schema) q.set(p.name, String(sample(p.schema, id)));
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
