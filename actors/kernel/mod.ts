export { ActorKernel, type KernelHealth, type KernelOf, type KernelOptions } from './kernel.ts';
export type { PartitionHealth } from './partition.ts';
export type { ActorKind, ActorView, SnapshotCodec } from './kind.ts';
