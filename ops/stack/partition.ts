/**
 * The partition the NATS server's `{{partition(n,…)}}` mapping gives a subject: FNV-1a (32-bit)
 * over the selected tokens concatenated without separator, modulo n (nats-server
 * subject_transform.go). Needed where the server's choice must be known ahead, e.g. to write a
 * device's publish permission for the mapped subject.
 */
export function natsPartition(tokens: readonly string[], partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(tokens.join(''), 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
