import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest random weight) hashing: every node scores every partition and the
 * highest score owns it. Adding or removing a node moves only the partitions that node wins
 * or held (about 1/n of them), and every node computes the same answer from the same list,
 * so no coordinator is needed. Pure: same inputs, same owners.
 */
function weight(nodeId: string, partition: number): bigint {
  return createHash('sha256').update(`${nodeId}\u0000${partition}`).digest().readBigUInt64BE(0);
}

/** The owner of each partition `0..count-1` (index = partition); empty when there are no nodes. */
export function assignPartitions(nodeIds: readonly string[], count: number): string[] {
  const nodes = [...new Set(nodeIds)].sort();
  if (nodes.length === 0) return [];
  const owners: string[] = [];
  for (let p = 0; p < count; p++) {
    let best = '';
    let bestWeight = -1n;
    for (const node of nodes) {
      const w = weight(node, p);
      // Ties (practically impossible) go to the smaller id: nodes is sorted.
      if (w > bestWeight) {
        best = node;
        bestWeight = w;
      }
    }
    owners.push(best);
  }
  return owners;
}

/** Partitions `nodeId` owns among `nodeIds`. */
export function partitionsOf(nodeId: string, nodeIds: readonly string[], count: number): number[] {
  const out: number[] = [];
  assignPartitions(nodeIds, count).forEach((owner, p) => {
    if (owner === nodeId) out.push(p);
  });
  return out;
}

/**
 * The partition the NATS server's `{{partition(n, …)}}` subject mapping gives a subject:
 * FNV-1a (32-bit) over the selected tokens concatenated without a separator, modulo n
 * (nats-server subject_transform.go). Consumers check a stored subject's partition token
 * against it: a publisher that writes to a partition subject directly must not place a unit
 * in a partition whose owner is not the unit's actor.
 */
export function natsPartition(tokens: readonly string[], count: number): number {
  let hash = 0x811c9dc5;
  for (const token of tokens) {
    // Ids are ASCII, whose UTF-8 bytes are their char codes: hashed without encoding them
    // (every consumer checks every message's partition); anything else through its bytes.
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      if (c > 0x7f) return fnv1a(Buffer.from(tokens.join(''), 'utf8'), count);
      hash = Math.imul(hash ^ c, 0x01000193) >>> 0;
    }
  }
  return hash % count;
}

function fnv1a(bytes: Uint8Array, count: number): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % count;
}

/** Partition of `[ns.]tele.<tenant>.<equipment>` under the server mapping (tokens as published). */
export function telemetryPartition(tenantId: string, equipmentId: string, count: number): number {
  return natsPartition([tenantId, equipmentId], count);
}
