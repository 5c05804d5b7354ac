export * from './errors.ts';
export * from './validate.ts';
export * from './config.ts';
export * from './telemetry.ts';
export * from './events.ts';
export * from './pg.ts';
export * from './clickhouse.ts';
export * from './log.ts';
export { migrate, detectTimescale, type MigrateResult } from './migrate.ts';
