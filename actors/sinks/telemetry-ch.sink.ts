import type { ClickHouseClient } from '@clickhouse/client';
import type { ServiceSchema } from 'moleculer';
import type { ConsumerRunner, StoredReading } from '../../streams/mod.ts';
import { sinkService, telemetrySinkRunner, type TelemetrySinkDeps } from './sink.service.ts';
import { fromClickHouseError } from '../errors.ts';

/**
 * TELEMETRY → ClickHouse `telemetry` (schemas/clickhouse/001), JSONEachRow batches. Its own
 * durable consumer: a slow or dead ClickHouse holds back only this consumer — the messages
 * wait in the stream (nak with backoff, never dead-lettered for an outage) while alerts and
 * PostgreSQL carry on. ReplacingMergeTree keyed by (tenant, unit, ts_ms) collapses
 * redeliveries; readers use FINAL.
 */

export interface ChTelemetryRow {
  tenant_id: string;
  equipment_id: string;
  ts: number;
  ts_ms: number;
  temperature: number | null;
  pressure: number | null;
  door: 0 | 1 | null;
  heater: 0 | 1 | null;
  compressor: 0 | 1 | null;
  fan: 0 | 1 | null;
  setpoint: number | null;
  metric_names: string[];
  metric_values: number[];
  received_ms: number;
}

function flag(v: boolean | undefined): 0 | 1 | null {
  return v === undefined ? null : v ? 1 : 0;
}

export function toClickHouseRow({ reading: r, receivedAt }: StoredReading): ChTelemetryRow {
  const metrics = Object.entries(r.metrics ?? {});
  return {
    tenant_id: r.tenantId,
    equipment_id: r.equipmentId,
    // DateTime as epoch seconds: unambiguous on 18.16 and current releases alike.
    ts: Math.floor(r.ts / 1000),
    ts_ms: r.ts,
    temperature: r.temperature ?? null,
    pressure: r.pressure ?? null,
    door: flag(r.door),
    heater: flag(r.heater),
    compressor: flag(r.compressor),
    fan: flag(r.fan),
    setpoint: r.setpoint ?? null,
    metric_names: metrics.map(([k]) => k),
    metric_values: metrics.map(([, v]) => v),
    received_ms: receivedAt,
  };
}

export interface TelemetryChDeps extends TelemetrySinkDeps {
  ch: ClickHouseClient;
}

function telemetryChRunner(deps: TelemetryChDeps): ConsumerRunner<StoredReading> {
  return telemetrySinkRunner(deps, 'telemetry_ch', {
    handle: async (batch) => {
      try {
        await deps.ch.insert({
          table: 'telemetry',
          values: batch.map((d) => toClickHouseRow(d.value)),
          format: 'JSONEachRow',
        });
      } catch (err) {
        throw fromClickHouseError(err, 'inserting telemetry into ClickHouse');
      }
    },
    // Fewer, larger inserts: ClickHouse prefers them.
    batchSize: 1000,
    lingerMs: 500,
  });
}

export function telemetryChService(deps: TelemetryChDeps): ServiceSchema {
  return sinkService('telemetry-ch', telemetryChRunner(deps));
}
