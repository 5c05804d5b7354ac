import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { resolve } from 'node:path';
import { VigilError } from './errors.ts';
import { describeErrors, compile } from './validate.ts';

/**
 * Environment, validated once at boot. Defaults make the embedded loopback stack work with no
 * configuration at all; every URL can point at external services instead.
 */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  VIGIL_HOME: Type.String({ default: resolve(import.meta.dirname, '..', '.vigil') }),
  /** Prefix for every subject, stream, consumer and bucket: lets tests and tenants-of-one run side by side. */
  VIGIL_NS: Type.String({ default: '', pattern: '^[a-z0-9]*$', maxLength: 24 }),
  VIGIL_PARTITIONS: Type.Integer({ default: 8, minimum: 1, maximum: 1024 }),
  /**
   * This actor node's id, kept across restarts so it takes its own partition leases back at
   * once. Unset: a per-machine slot under VIGIL_HOME (actors/node-id.ts).
   */
  VIGIL_NODE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  NATS_URL: Type.String({ default: 'nats://127.0.0.1:14222' }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:15432/vigil' }),
  CLICKHOUSE_URL: Type.String({ default: 'http://127.0.0.1:18123' }),
  CLICKHOUSE_DATABASE: Type.String({ default: 'vigil', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
  /** Per request; a sink's insert that takes longer is retried by redelivery. */
  CLICKHOUSE_REQUEST_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 1000 }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:16379' }),
  /** Passwords of the roles migrations create. The embedded PostgreSQL trusts loopback. */
  VIGIL_DB_APP_PASSWORD: Type.String({ default: 'vigil_app_dev' }),
  VIGIL_DB_INGEST_PASSWORD: Type.String({ default: 'vigil_ingest_dev' }),
  VIGIL_DB_WORKER_PASSWORD: Type.String({ default: 'vigil_worker_dev' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ default: 8088, minimum: 0, maximum: 65535 }),
  JWT_ISSUER: Type.String({ default: 'vigil' }),
  JWT_AUDIENCE: Type.String({ default: 'vigil-api' }),
  JWT_ACCESS_TTL_S: Type.Integer({ default: 900, minimum: 30 }),
  JWT_REFRESH_TTL_S: Type.Integer({ default: 30 * 24 * 3600, minimum: 60 }),
  /** Directory of signing keys (JWK files). Generated on first start when empty. */
  JWT_KEYS_DIR: Type.Optional(Type.String()),
  VIGIL_ALLOW_SIGNUP: Type.Boolean({ default: false }),
  /** Readings older than this, or further in the future than the skew, are rejected (dead-lettered). */
  VIGIL_MAX_READING_AGE_S: Type.Integer({ default: 7 * 24 * 3600, minimum: 60 }),
  VIGIL_MAX_CLOCK_SKEW_S: Type.Integer({ default: 300, minimum: 1 }),
  PG_CONNECT_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
  PG_STATEMENT_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  VIGIL_MAX_BODY_BYTES: Type.Integer({ default: 64 * 1024, minimum: 1024 }),
  /** Longest a client may take to send a whole request (headers and body): slow bodies end in 408. */
  VIGIL_REQUEST_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  /** Longest a client may take to send its headers (capped by the request timeout). */
  VIGIL_HEADERS_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
  /**
   * An OpenAI-compatible chat completions base URL (…/v1) that phrases insights; unset: Vigil's
   * own sentences. The numbers always come from Vigil and are checked in the phrasing.
   */
  VIGIL_INSIGHTS_LLM_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  VIGIL_INSIGHTS_LLM_KEY: Type.Optional(Type.String()),
  VIGIL_INSIGHTS_LLM_MODEL: Type.String({ default: 'gpt-4o-mini', minLength: 1 }),
  VIGIL_INSIGHTS_LLM_TIMEOUT_MS: Type.Integer({ default: 20_000, minimum: 100 }),
  /** ONNX detector (YOLOv8/YOLO11 export) for cameras without their own model path; never downloaded. */
  VIGIL_CAMERA_MODEL: Type.Optional(Type.String({ minLength: 1 })),
  /** Inference worker threads of a video node; default the machine's cores. */
  VIGIL_DETECT_WORKERS: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
});
export type Config = Static<typeof ConfigSchema>;

const BOOLEAN_KEYS = new Set(['VIGIL_ALLOW_SIGNUP']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const v = env[key];
    if (v === undefined || v === '') continue;
    raw[key] = BOOLEAN_KEYS.has(key) ? v === 'true' || v === '1' : v;
  }
  // Convert turns "8088" into 8088 for integer fields; Default fills what is absent.
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, { ...raw, ...overrides }));
  const check = compile(ConfigSchema);
  if (!check(converted)) {
    throw new VigilError(
      'VALIDATION_FAILED',
      `invalid configuration: ${describeErrors((check as unknown as { errors: never }).errors)}`,
    );
  }
  return converted;
}

/** Connection string of another role on the same PostgreSQL server as DATABASE_URL. */
export function roleUrl(databaseUrl: string, role: string, password: string): string {
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = password;
  return url.toString();
}
