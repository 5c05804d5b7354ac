import { createHash } from 'node:crypto';

/**
 * Deterministic alert id: a UUID (version 8, "custom") built from sha256 of what identifies the
 * alert. A replayed actor computes the same id, so the alert row and its events stay unique
 * without any coordination. Pure: no clock, no randomness.
 */
export function alertIdFor(equipmentId: string, ruleKey: string, openedAt: number): string {
  const h = createHash('sha256').update(`${equipmentId}|${ruleKey}|${openedAt}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
