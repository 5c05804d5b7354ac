import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed webhooks. The signature header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * with the channel's secret — the scheme Stripe made familiar: the receiver recomputes it over
 * the raw body, compares in constant time, and refuses stale timestamps (replays).
 */

export const SIGNATURE_HEADER = 'vigil-signature';
export const DELIVERY_HEADER = 'vigil-delivery';
export const KIND_HEADER = 'vigil-notification';

export function signature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a receiver does: true when `header` signs `body` with `secret` and is at most
 * `toleranceS` old at `nowS`.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(signature(secret, body, t).split('v1=')[1]!, 'hex');
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type SendResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/** POST `body` once. Any 2xx is accepted; everything else (and a timeout) is a failure to retry. */
export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<SendResult> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'vigil-notifier', ...headers },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Drain, so the connection can be reused; the receiver's answer is not ours to keep.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, status: null, error: (err as Error).message.slice(0, 500) };
  }
}
