import { Type, type Static } from '@sinclair/typebox';

export const DependencyName = Type.Union(
  ['nats', 'postgres', 'clickhouse', 'redis'].map((n) => Type.Literal(n)),
);
export type DependencyName = 'nats' | 'postgres' | 'clickhouse' | 'redis';

export const DependencyCheck = Type.Object(
  {
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    latencyMs: Type.Number({ minimum: 0 }),
    /** A short, non-revealing reason ('timeout', 'unavailable'); the full error is in the log. */
    error: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type DependencyCheck = Static<typeof DependencyCheck>;

/** Failed maintenance jobs (partitions, retention, rollups, TimescaleDB policies). */
export const MaintenanceHealth = Type.Object(
  {
    /** `unknown` when PostgreSQL could not be asked. */
    status: Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('unknown')]),
    failedJobs: Type.Array(
      Type.Object(
        {
          job: Type.String(),
          /** Units of work failing (a step, or one tenant's rollup bucket each). */
          scopes: Type.Integer({ minimum: 0 }),
          /** Consecutive failures of the worst of them. */
          failures: Type.Integer({ minimum: 0 }),
          lastRunAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type MaintenanceHealth = Static<typeof MaintenanceHealth>;

/** GET /health: the process is live whenever it answers; ready only when every dependency is. */
export const HealthResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    live: Type.Boolean(),
    ready: Type.Boolean(),
    uptimeS: Type.Number({ minimum: 0 }),
    checks: Type.Object({
      nats: DependencyCheck,
      postgres: DependencyCheck,
      clickhouse: DependencyCheck,
      redis: DependencyCheck,
    }),
    /** Reported, but not part of readiness: failing maintenance does not stop serving. */
    maintenance: Type.Optional(MaintenanceHealth),
  },
  { additionalProperties: false },
);
export type HealthResponse = Static<typeof HealthResponse>;

export const LivenessResponse = Type.Object({
  status: Type.Literal('ok'),
  uptimeS: Type.Number({ minimum: 0 }),
});
