import { DLQ_HEADERS, type JetStreamClient, type JetStreamManager, type Names } from '../../streams/mod.ts';

export interface DeadLetter {
  code: string;
  reason: string;
}

/**
 * Every entry of a namespace's DLQ, by source stream and that stream's sequence: read in fetch
 * rounds through one ephemeral consumer (a million entries in seconds, not a request each).
 */
export async function deadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  names: Names,
): Promise<Map<string, Map<number, DeadLetter>>> {
  const byStream = new Map<string, Map<number, DeadLetter>>();
  const info = await jsm.streams.info(names.dlq.stream);
  if (info.state.messages === 0) return byStream;
  const consumer = await jsm.consumers.add(names.dlq.stream, { ack_policy: 'none' as never });
  const c = await js.consumers.get(names.dlq.stream, consumer.name);
  let seen = 0;
  while (seen < info.state.messages) {
    const it = await c.fetch({ max_messages: Math.min(10_000, info.state.messages - seen), expires: 5000 });
    let got = 0;
    for await (const m of it) {
      got++;
      const stream = m.headers?.get(DLQ_HEADERS.stream) ?? '';
      let entries = byStream.get(stream);
      if (!entries) byStream.set(stream, (entries = new Map()));
      entries.set(Number(m.headers?.get(DLQ_HEADERS.seq)), {
        code: m.headers?.get(DLQ_HEADERS.code) ?? '',
        reason: m.headers?.get(DLQ_HEADERS.reason) ?? '',
      });
    }
    if (got === 0) break;
    seen += got;
  }
  return byStream;
}

/** Every consumer of `stream` has acknowledged everything. */
export async function settled(jsm: JetStreamManager, stream: string): Promise<boolean> {
  for await (const c of jsm.consumers.list(stream))
    if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
  return true;
}
