export {
  ActorKernel,
  DEFAULT_COMMIT_INTERVAL_MS,
  type KernelDeps,
  type KernelHealth,
  type KernelOf,
  type KernelOptions,
} from './kernel.ts';
export { KernelHost } from './hosting.ts';
export type { PartitionHealth } from './partition.ts';
export type { ActorKind, ActorView, SnapshotCodec } from './kind.ts';
