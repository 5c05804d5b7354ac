export * from './errors.ts';
export * from './validate.ts';
export * from './config.ts';
export * from './telemetry.ts';
export * from './text.ts';
export * from './events.ts';
export * from './control.ts';
export * from './pg.ts';
export { fromPgError, looksLikeNetwork, type PgErrorContext } from './pg-errors.ts';
export * from './clickhouse.ts';
export * from './log.ts';
export { migrate, detectTimescale, type MigrateResult } from './migrate.ts';
export * from './http.ts';
export * from './api-ops.ts';
export * from './api-telemetry.ts';
export * from './api-stream.ts';
export * from './api-identity.ts';
export * from './api-equipment.ts';
export * from './api-cameras.ts';
export * from './api-alerts.ts';
export * from './rules.ts';
export * from './api-notifications.ts';
export * from './api-backtest.ts';
export * from './api-readings.ts';
export * from './api-equipment-state.ts';
export {
  DetectionsIn,
  parseDetections,
  MAX_DETECTIONS_BYTES,
  type DetectedBox,
  type DetectionBounds,
  type DetectionsFrame,
  type DetectionsParse,
} from './detections.ts';
export * from './time-zone.ts';
export * from './api-retail.ts';
