import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  ErrorBody,
  MAX_TELEMETRY_BATCH,
  TelemetryAccepted,
  TelemetryBody,
  TelemetryHeaders,
  VigilError,
  normalizeReading,
  requireReading,
  type ErrorCode,
  type Reading,
  type ReadingBounds,
  type TelemetryIn,
  type TelemetryRejection,
} from '../schemas/mod.ts';
import { subscribeControl } from '../streams/mod.ts';
import { ApiKeyCache, type DeviceIdentity } from './api-key.cache.ts';
import type { GatewayDeps } from './deps.ts';
import type { GatewayMetrics } from './metrics.ts';
import { buildValidator } from './validation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the X-API-Key check on device routes. */
    device: DeviceIdentity | null;
  }
}

export interface TelemetryRoutesOptions {
  deps: GatewayDeps;
  metrics: GatewayMetrics;
  /** Tests inject a cache with a short TTL or a counting lookup. */
  apiKeys?: ApiKeyCache;
}

/** What goes on the wire to JetStream: the device schema with `ts` resolved, so consumers agree on it. */
export function toWire(reading: Reading): TelemetryIn {
  const { tenantId: _t, equipmentId: _e, ...wire } = reading;
  return wire;
}

/**
 * Nats-Msg-Id for one reading. With an Idempotency-Key the caller decides what a retry is;
 * without one, the same reading (same unit, same time, same values) is the same message.
 */
export function messageId(
  equipmentId: string,
  wireJson: string,
  idempotencyKey: string | undefined,
  index: number,
): string {
  if (idempotencyKey) return `${equipmentId}:${idempotencyKey}:${index}`;
  return createHash('sha256').update(equipmentId).update('\n').update(wireJson).digest('base64url');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Accept a single reading or `{ readings: [...] }`. All or nothing: one bad reading rejects the
 * request, with every bad index listed, so a device never has to work out what was stored.
 */
export function validateTelemetryBody(
  body: unknown,
  ids: { tenantId: string; equipmentId: string },
  bounds: ReadingBounds,
): Reading[] {
  if (!isPlainObject(body)) {
    throw new VigilError('VALIDATION_FAILED', 'body must be a reading object or { "readings": [...] }');
  }
  if (!('readings' in body)) return [requireReading(body, ids, bounds)];

  const extra = Object.keys(body).filter((k) => k !== 'readings');
  if (extra.length) throw new VigilError('UNKNOWN_FIELD', `/: unknown field '${extra[0] ?? ''}'`);
  const { readings } = body;
  if (!Array.isArray(readings) || readings.length === 0) {
    throw new VigilError('VALIDATION_FAILED', '/readings: must be a non-empty array');
  }
  if (readings.length > MAX_TELEMETRY_BATCH) {
    throw new VigilError(
      'VALIDATION_FAILED',
      `/readings: at most ${MAX_TELEMETRY_BATCH} readings per request`,
    );
  }
  const accepted: Reading[] = [];
  const rejected: TelemetryRejection[] = [];
  readings.forEach((value: unknown, index) => {
    const r = normalizeReading(value, ids, bounds);
    if (r.ok) accepted.push(r.reading);
    else rejected.push({ index, code: r.code, reason: r.reason });
  });
  const first = rejected[0];
  if (first) {
    const codes = new Set(rejected.map((r) => r.code));
    const code = (codes.size === 1 ? first.code : 'VALIDATION_FAILED') as ErrorCode;
    throw new VigilError(
      code,
      `${rejected.length} of ${readings.length} readings rejected; first: /readings/${first.index}${first.reason.startsWith('/') ? '' : ': '}${first.reason}`,
      { details: rejected },
    );
  }
  return accepted;
}

const passThrough = Object.assign(() => true, { errors: null });

export const telemetryRoutes: FastifyPluginAsync<TelemetryRoutesOptions> = async (app, opts) => {
  const { deps, metrics } = opts;
  const apiKeys =
    opts.apiKeys ??
    new ApiKeyCache(async (keyHash) => {
      const { rows } = await deps.db.query<{ tenant_id: string; equipment_id: string; site_id: string }>(
        'SELECT tenant_id, equipment_id, site_id FROM auth_equipment_by_key_hash($1)',
        [keyHash],
      );
      const row = rows[0];
      return row ? { tenantId: row.tenant_id, equipmentId: row.equipment_id, siteId: row.site_id } : null;
    });
  const defaultValidator = buildValidator({});

  // A key rotated or revoked through the management API (on any gateway node) must stop working
  // now, not when its cache entry expires; the TTL stays as the backstop for a missed message.
  const controlSubs = [
    subscribeControl(deps.nc, deps.names, 'equipmentChanged', deps.log, (b) => {
      apiKeys.evictEquipment(b.equipmentId);
    }),
    subscribeControl(deps.nc, deps.names, 'tenantChanged', deps.log, (b) => {
      apiKeys.evictTenant(b.tenantId);
    }),
  ];
  app.addHook('onClose', async () => {
    for (const sub of controlSubs) {
      try {
        sub.unsubscribe();
      } catch {
        // The connection is already closed: so is the subscription.
      }
    }
  });

  app.decorateRequest('device', null);

  /** Runs before the body is read: an unauthenticated device costs no parsing. */
  async function requireDevice(request: FastifyRequest): Promise<void> {
    const header = request.headers['x-api-key'];
    let device: DeviceIdentity | null;
    try {
      device = await apiKeys.resolve(typeof header === 'string' ? header : undefined);
    } catch (err) {
      throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
    }
    if (!device) {
      metrics.telemetryRejected.inc({ code: 'INVALID_API_KEY' });
      throw new VigilError('INVALID_API_KEY');
    }
    request.device = device;
  }

  app.post(
    '/telemetry',
    {
      schema: {
        tags: ['telemetry'],
        summary: 'Ingest readings of one equipment unit (X-API-Key)',
        description:
          `One reading or { "readings": [...] } (at most ${MAX_TELEMETRY_BATCH}). All or nothing: a rejected ` +
          'request lists every bad index in error.details. A reading without ts gets the receive time. ' +
          'Send an Idempotency-Key to make retries safe; without one, an identical reading (same ts and values) ' +
          'is recognised as a duplicate.',
        security: [{ apiKey: [] }],
        headers: TelemetryHeaders,
        body: TelemetryBody,
        response: {
          202: TelemetryAccepted,
          400: ErrorBody,
          401: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          503: ErrorBody,
          '5xx': ErrorBody,
        },
      },
      // The body is checked reading by reading in the handler (per-index reasons, one code
      // registry with the NATS path); a union schema here would only say "matches no branch".
      validatorCompiler: (route) =>
        route.httpPart === 'body'
          ? passThrough
          : defaultValidator(route as Parameters<typeof defaultValidator>[0]),
      onRequest: requireDevice,
    },
    async (request, reply) => {
      const device = request.device!;
      const now = Date.now();
      let readings: Reading[];
      try {
        readings = validateTelemetryBody(
          request.body,
          { tenantId: device.tenantId, equipmentId: device.equipmentId },
          {
            now,
            receivedAt: now,
            maxAgeMs: deps.config.VIGIL_MAX_READING_AGE_S * 1000,
            maxSkewMs: deps.config.VIGIL_MAX_CLOCK_SKEW_S * 1000,
          },
        );
      } catch (err) {
        if (err instanceof VigilError) metrics.telemetryRejected.inc({ code: err.code });
        throw err;
      }

      const idempotencyKey = request.headers['idempotency-key'];
      const subject = deps.names.telemetry.publish(device.tenantId, device.equipmentId);
      const acks = await Promise.allSettled(
        readings.map((reading, i) => {
          const json = JSON.stringify(toWire(reading));
          const msgID = messageId(
            device.equipmentId,
            json,
            typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
            i,
          );
          return deps.js.publish(subject, json, { msgID });
        }),
      );
      const failed = acks.find((a) => a.status === 'rejected');
      if (failed) {
        // Some readings may be stored: a retry with the same ids is deduplicated by JetStream.
        request.log.error(
          { err: failed.reason, tenantId: device.tenantId, equipmentId: device.equipmentId, subject },
          'telemetry publish failed',
        );
        metrics.telemetryRejected.inc({ code: 'DEPENDENCY_UNAVAILABLE' }, readings.length);
        throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: failed.reason });
      }
      let seq = 0;
      let duplicates = 0;
      for (const a of acks) {
        if (a.status !== 'fulfilled') continue;
        seq = Math.max(seq, a.value.seq);
        if (a.value.duplicate) duplicates++;
      }
      metrics.telemetryAccepted.inc(readings.length);
      return reply.code(202).send({ accepted: readings.length, duplicates, seq });
    },
  );
};
