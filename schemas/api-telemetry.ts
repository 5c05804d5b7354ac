import { Type, type Static } from '@sinclair/typebox';
import { TelemetryIn } from './telemetry.ts';

/** Most readings one POST /v1/telemetry may carry. */
export const MAX_TELEMETRY_BATCH = 500;

export const TelemetryBatch = Type.Object(
  { readings: Type.Array(TelemetryIn, { minItems: 1, maxItems: MAX_TELEMETRY_BATCH }) },
  { additionalProperties: false },
);
export type TelemetryBatch = Static<typeof TelemetryBatch>;

/** One reading, or `{ readings: [...] }`. Validation is all-or-nothing, with per-index reasons. */
export const TelemetryBody = Type.Union([TelemetryIn, TelemetryBatch]);

export const TelemetryHeaders = Type.Object({
  'x-api-key': Type.Optional(
    Type.String({ description: "the equipment unit's API key (shown once at creation)" }),
  ),
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'retries with the same key publish nothing new (JetStream duplicate window)',
    }),
  ),
});

export const TelemetryAccepted = Type.Object(
  {
    accepted: Type.Integer({ minimum: 1, description: 'readings accepted (duplicates included)' }),
    duplicates: Type.Integer({ minimum: 0, description: 'readings JetStream had already stored (a retry)' }),
    seq: Type.Integer({ minimum: 1, description: 'TELEMETRY stream sequence of the last reading' }),
  },
  { additionalProperties: false },
);
export type TelemetryAccepted = Static<typeof TelemetryAccepted>;

/** Per-reading reason in a rejected batch (error.details). */
export const TelemetryRejection = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  code: Type.String(),
  reason: Type.String(),
});
export type TelemetryRejection = Static<typeof TelemetryRejection>;
