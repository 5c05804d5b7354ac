import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import {
  deleteNamespace,
  names as namesFor,
  publishReading,
  streamConfigs,
  type JetStreamClient,
  type JetStreamManager,
} from '../../streams/mod.ts';
import type { Load } from './load.ts';
import { InFlightWindow } from './window.ts';

export interface RawResult {
  messages: number;
  /** First publish → last PubAck. */
  publishMs: number;
  /** First publish → last message consumed and acked. */
  totalMs: number;
}

/**
 * The ceiling: the same readings, the same subjects (server partition mapping included), a
 * stream configured exactly like TELEMETRY (file storage, duplicate window, msg ids), and one
 * pull consumer that acks each message and does nothing else. The stream lives in
 * `<ns>raw`, so it never overlaps the namespace's own TELEMETRY stream.
 */
export async function measureRawJetStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  ns: string,
  load: Load,
  opts: { window: number; fetch: number; stallMs: number; interrupted: () => boolean },
): Promise<RawResult> {
  const raw = namesFor(`${ns}raw`);
  const cfg = streamConfigs(raw)[0]!;
  await deleteNamespace(jsm, raw);
  await jsm.streams.add(cfg);
  try {
    await jsm.consumers.add(cfg.name, {
      durable_name: 'raw',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: -1,
    });
    const consumer = await js.consumers.get(cfg.name, 'raw');
    const messages = await consumer.consume({ max_messages: opts.fetch });
    let consumed = 0;
    let consumedAt = 0;
    const reader = (async () => {
      for await (const m of messages) {
        m.ack();
        if (++consumed === load.total) consumedAt = performance.now();
      }
    })();
    // Surfaced by the wait below; never an unhandled rejection.
    let readerError: unknown = null;
    reader.catch((err: unknown) => (readerError = err ?? new Error('raw consumer failed')));
    try {
      const window = new InFlightWindow(opts.window);
      const t0 = performance.now();
      for (const r of load.readings()) {
        if (opts.interrupted()) throw new Error('interrupted');
        if (window.full) await window.room();
        window.start(() => publishReading(js, raw, r.tenantId, r.equipmentId, r.body, r.msgId));
      }
      await window.drain();
      const publishMs = performance.now() - t0;
      let last = consumed;
      let lastChange = performance.now();
      while (consumedAt === 0) {
        if (readerError !== null) throw readerError;
        if (opts.interrupted()) throw new Error('interrupted');
        if (consumed !== last) {
          last = consumed;
          lastChange = performance.now();
        } else if (performance.now() - lastChange > opts.stallMs) {
          throw new Error(`raw phase: consumer stuck at ${consumed} of ${load.total} messages`);
        }
        await sleep(5);
      }
      return { messages: load.total, publishMs, totalMs: consumedAt - t0 };
    } finally {
      await messages.close().catch(() => undefined);
      await reader.catch(() => undefined);
    }
  } finally {
    await deleteNamespace(jsm, raw);
  }
}
