export {
  ActorKernel,
  type KernelDeps,
  type KernelHealth,
  type KernelOf,
  type KernelOptions,
} from './kernel.ts';
export type { PartitionHealth, PartitionStartup } from './partition.ts';
export type {
  ActorKind,
  ActorSource,
  ActorSnapshotView,
  ActorView,
  Loaded,
  SnapshotCodec,
  SnapshotEnvelope,
} from './kind.ts';
