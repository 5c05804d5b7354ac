// Public surface of the embedded service stack (NATS JetStream, PostgreSQL, ClickHouse, Redis).
import { telemetryPartition } from '../../streams/mod.ts';
import { resolvePartitions } from './config.ts';

export type { StackUrls } from './types.ts';
export { StackError } from './errors.ts';
export { resolveStack, resolveStackConfig } from './config.ts';
export {
  bounceService,
  ensureStack,
  ensureTimescaleCluster,
  stackStatus,
  stopStack,
  type BounceTarget,
} from './orchestrate.ts';
export { tailFile } from './process.ts';
export { hasSynchronousWrites, resolveDurability, type Durability } from './durability.ts';

/** Partitions per stream (VIGIL_PARTITIONS, default 8): the NATS mappings and the app must agree. */
export const PARTITIONS: number = resolvePartitions(process.env);

/** Partition of `tele.<tenant>.<equipment>` / `det.<tenant>.<camera>` under the server mappings. */
export function partitionOf(tenant: string, unit: string, partitions: number = PARTITIONS): number {
  return telemetryPartition(tenant, unit, partitions);
}
