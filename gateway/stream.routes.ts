import type { ServerResponse } from 'node:http';
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ErrorBody, StreamHeaders, StreamQuery, VigilError } from '../schemas/mod.ts';
import type { GatewayDeps } from './deps.ts';
import type { GatewayMetrics } from './metrics.ts';
import {
  HEARTBEAT_FRAME,
  eventMatches,
  formatEvent,
  parseEventSubject,
  planStream,
  resumeAfter,
  retryFrame,
  type StreamFilter,
} from './sse.ts';

export interface SseOptions {
  /** Period of `: hb` comments, which keep proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A client whose unsent bytes exceed this is too slow: it is disconnected, not buffered for. */
  maxBufferedBytes: number;
  /** Reconnect delay suggested to EventSource. */
  retryMs: number;
  /** Messages pulled from JetStream per request. */
  batch: number;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = {
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  retryMs: 2000,
  batch: 64,
};

export interface StreamRoutesOptions {
  deps: GatewayDeps;
  metrics: GatewayMetrics;
  sse: Partial<SseOptions>;
}

type EndReason = 'client_closed' | 'slow_client' | 'stream_ended' | 'server_closing';

/** One connected client: a JetStream ordered consumer piped into one HTTP response. */
class SseSession {
  #ended = false;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #res: ServerResponse;
  readonly #consumer: Consumer;
  readonly #messages: ConsumerMessages;
  readonly #filter: StreamFilter;
  readonly #ns: string;
  readonly #opts: SseOptions;
  readonly #metrics: GatewayMetrics;
  readonly #log: FastifyBaseLogger;
  readonly #onEnd: (s: SseSession) => void;

  constructor(args: {
    res: ServerResponse;
    consumer: Consumer;
    messages: ConsumerMessages;
    filter: StreamFilter;
    ns: string;
    opts: SseOptions;
    metrics: GatewayMetrics;
    log: FastifyBaseLogger;
    onEnd: (s: SseSession) => void;
  }) {
    this.#res = args.res;
    this.#consumer = args.consumer;
    this.#messages = args.messages;
    this.#filter = args.filter;
    this.#ns = args.ns;
    this.#opts = args.opts;
    this.#metrics = args.metrics;
    this.#log = args.log;
    this.#onEnd = args.onEnd;
  }

  start(headers: Record<string, string>): void {
    this.#metrics.sseClients.inc();
    this.#res.on('close', () => this.end('client_closed'));
    this.#res.writeHead(200, headers);
    this.#write(retryFrame(this.#opts.retryMs));
    this.#heartbeat = setInterval(() => this.#write(HEARTBEAT_FRAME), this.#opts.heartbeatMs);
    void this.#pump();
  }

  /** Idempotent: the first reason wins. */
  end(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    this.#metrics.sseClients.dec();
    if (reason === 'slow_client' || reason === 'stream_ended') this.#metrics.sseDropped.inc({ reason });
    this.#log.info({ reason }, 'sse stream ended');
    // Stop pulling first, then remove the server-side consumer instead of waiting for its inactivity timeout.
    this.#messages.close().catch(() => undefined);
    this.#consumer.delete().catch(() => undefined);
    if (reason === 'slow_client') this.#res.destroy();
    else if (!this.#res.writableEnded) this.#res.end();
    this.#onEnd(this);
  }

  #write(frame: string): void {
    if (this.#ended) return;
    this.#res.write(frame);
    // write() never blocks: past the bound the kernel buffer is full and ours keeps growing.
    if (this.#res.writableLength > this.#opts.maxBufferedBytes) {
      this.#log.warn({ buffered: this.#res.writableLength }, 'sse client too slow; disconnecting');
      this.end('slow_client');
    }
  }

  #deliver(m: JsMsg): void {
    const subject = parseEventSubject(m.subject, this.#ns);
    if (!subject) return;
    let event: unknown;
    try {
      event = m.json();
    } catch (err) {
      this.#log.warn({ err, seq: m.seq, subject: m.subject }, 'unparseable event skipped');
      return;
    }
    if (!eventMatches(this.#filter, subject, event)) return;
    this.#write(formatEvent(m.seq, (event as { type?: unknown }).type, event));
    this.#metrics.sseEvents.inc();
  }

  async #pump(): Promise<void> {
    try {
      for await (const m of this.#messages) {
        if (this.#ended) break;
        this.#deliver(m);
      }
    } catch (err) {
      this.#log.warn({ err }, 'sse event consumer failed');
    }
    // The client reconnects with Last-Event-ID and misses nothing.
    this.end('stream_ended');
  }
}

/** EventSource cannot send headers: a token in the query is moved to Authorization before auth runs. */
async function tokenFromQuery(request: FastifyRequest): Promise<void> {
  const token = (request.query as { access_token?: unknown }).access_token;
  if (typeof token === 'string' && token && !request.headers.authorization) {
    request.headers = { ...request.headers, authorization: `Bearer ${token}` };
  }
}

export const streamRoutes: FastifyPluginAsync<StreamRoutesOptions> = async (app, { deps, metrics, sse }) => {
  const opts: SseOptions = { ...DEFAULT_SSE_OPTIONS, ...sse };
  const sessions = new Set<SseSession>();

  // Open streams never finish on their own: end them so close() does not wait forever.
  app.addHook('preClose', async () => {
    for (const s of [...sessions]) s.end('server_closing');
  });

  app.get(
    '/stream',
    {
      schema: {
        tags: ['events'],
        summary: 'Live events (server-sent events)',
        description:
          'Each event: `id` = its EVENTS stream sequence, `event` = its type, `data` = the event JSON. ' +
          'Reconnect with Last-Event-ID (EventSource does it) or ?lastEventId= to receive exactly what was missed. ' +
          'Comments `: hb` are heartbeats. Site-restricted users only receive events of their sites.',
        security: [{ bearerAuth: [] }],
        querystring: StreamQuery,
        headers: StreamHeaders,
        response: {
          200: {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
          503: ErrorBody,
          '5xx': ErrorBody,
        },
      },
      // A HEAD would open a consumer and hijack the socket for a body nobody reads.
      exposeHeadRoute: false,
      onRequest: tokenFromQuery,
      preHandler: app.authenticate,
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new VigilError('UNAUTHENTICATED');
      const query = request.query as StreamQuery;
      const plan = planStream(principal, query, deps.names);
      const after = resumeAfter(request.headers['last-event-id'] as string | undefined, query.lastEventId);

      let consumer: Consumer;
      let messages: ConsumerMessages;
      try {
        consumer = await deps.js.consumers.get(
          deps.names.events.stream,
          after > 0
            ? { filter_subjects: plan.subject, opt_start_seq: after + 1 }
            : { filter_subjects: plan.subject, deliver_policy: DeliverPolicy.New },
        );
        messages = await consumer.consume({ max_messages: opts.batch });
      } catch (err) {
        throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
      }

      const log = request.log.child({
        tenantId: principal.tenantId,
        userId: principal.userId,
        filter: plan.subject,
      });
      const session = new SseSession({
        res: reply.raw,
        consumer,
        messages,
        filter: plan.filter,
        ns: deps.names.ns,
        opts,
        metrics,
        log,
        onEnd: (s) => sessions.delete(s),
      });
      sessions.add(session);
      reply.hijack();
      log.info({ resumeAfter: after }, 'sse stream started');
      session.start({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store, no-transform',
        connection: 'keep-alive',
        // Reverse proxies (nginx) buffer responses by default; SSE must not be.
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      return reply;
    },
  );
};
