import type { ServerResponse } from 'node:http';
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, StreamHeaders, StreamQuery, VigilError } from '../schemas/mod.ts';
import { subscribeControl, type Msg, type Subscription } from '../streams/mod.ts';
import type { GatewayDeps } from './deps.ts';
import { concerns, revocableClaims, type RevocableClaims } from './identity/mod.ts';
import type { GatewayMetrics } from './metrics.ts';
import {
  HEARTBEAT_FRAME,
  eventMatches,
  formatEvent,
  formatNotice,
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
  /**
   * Streams one user may hold open at once in this process (each is a JetStream consumer);
   * one more is 429 RATE_LIMITED.
   */
  maxStreamsPerUser: number;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = {
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  retryMs: 2000,
  batch: 64,
  maxStreamsPerUser: 5,
};

export interface StreamRoutesOptions {
  deps: GatewayDeps;
  metrics: GatewayMetrics;
  sse: Partial<SseOptions>;
}

type EndReason =
  | 'client_closed'
  | 'slow_client'
  | 'stream_ended'
  | 'server_closing'
  | 'token_expired'
  | 'token_revoked'
  | 'auth_unavailable';

/** Ends the server chose, counted in vigil_sse_dropped_total. */
const DROPPED: ReadonlySet<EndReason> = new Set<EndReason>([
  'slow_client',
  'stream_ended',
  'token_expired',
  'token_revoked',
  'auth_unavailable',
]);

/** setTimeout's largest delay (~24.8 days); a longer wait is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const ignore = (): undefined => undefined;

/**
 * One connected client: a JetStream ordered consumer piped into one HTTP response. The access
 * token was checked once, when the stream opened; the session ends the stream when the token
 * expires and re-checks revocation with every heartbeat, so a stream lives no longer than the
 * token would on any other request.
 */
class SseSession {
  #ended = false;
  #started = false;
  #checking = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #expiry: NodeJS.Timeout | undefined;
  readonly #res: ServerResponse;
  readonly #consumer: Consumer;
  readonly #messages: ConsumerMessages;
  readonly #filter: StreamFilter;
  readonly #ns: string;
  readonly #opts: SseOptions;
  readonly #metrics: GatewayMetrics;
  readonly #log: FastifyBaseLogger;
  readonly #onEnd: (s: SseSession) => void;
  readonly #expiresAtMs: number | null;
  readonly #isRevoked: () => Promise<boolean>;
  readonly #subscribeLive: (onMessage: (m: Msg) => void) => Subscription;
  #live: Subscription | null = null;
  /** What a revocation announcement is matched against; null: re-check on every one. */
  readonly claims: RevocableClaims | null;

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
    /** When the access token expires (ms); null = never. */
    expiresAtMs: number | null;
    /** The revocation check REST makes on every request (Redis only). */
    isRevoked: () => Promise<boolean>;
    claims: RevocableClaims | null;
    /** Live notices of the caller's tenant (NATS core): state changes, written without an id. */
    subscribeLive: (onMessage: (m: Msg) => void) => Subscription;
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
    this.#expiresAtMs = args.expiresAtMs;
    this.#isRevoked = args.isRevoked;
    this.#subscribeLive = args.subscribeLive;
    this.claims = args.claims;
  }

  /** The route listens for the response's 'close' (from before setup) and calls end() on it. */
  start(headers: Record<string, string>): void {
    this.#started = true;
    this.#metrics.sseClients.inc();
    this.#res.writeHead(200, headers);
    this.#write(retryFrame(this.#opts.retryMs));
    this.#heartbeat = setInterval(() => this.#beat(), this.#opts.heartbeatMs);
    this.#armExpiry();
    this.#live = this.#subscribeLive((m) => this.#notice(m));
    void this.#pump();
  }

  /** Idempotent: the first reason wins. */
  end(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#expiry);
    try {
      this.#live?.unsubscribe();
    } catch {
      // The connection is already closed: so is the subscription.
    }
    if (this.#started) this.#metrics.sseClients.dec();
    if (DROPPED.has(reason)) this.#metrics.sseDropped.inc({ reason });
    this.#log.info({ reason }, 'sse stream ended');
    // Stop pulling first, then remove the server-side consumer instead of waiting for its inactivity timeout.
    this.#messages.close().catch(ignore);
    this.#consumer.delete().catch(ignore);
    if (reason === 'slow_client') this.#res.destroy();
    else if (!this.#res.writableEnded) this.#res.end();
    this.#onEnd(this);
  }

  #beat(): void {
    this.#write(HEARTBEAT_FRAME);
    void this.recheck();
  }

  /**
   * Logout, refresh-token reuse, a disabled user or a suspended tenant end the stream too:
   * checked with every heartbeat, and at once when a revocation is announced.
   */
  async recheck(): Promise<void> {
    // A slow Redis must not pile up checks: one at a time, the next heartbeat tries again.
    if (this.#checking || this.#ended) return;
    this.#checking = true;
    try {
      if (await this.#isRevoked()) this.end('token_revoked');
    } catch (err) {
      // Fail closed like REST (503 while Redis is down): a revocation cannot be ruled out. The
      // client reconnects with Last-Event-ID once authentication works again.
      this.#log.warn({ err }, 'sse token re-check failed; ending the stream');
      this.end('auth_unavailable');
    } finally {
      this.#checking = false;
    }
  }

  #armExpiry(): void {
    if (this.#expiresAtMs === null || this.#ended) return;
    const left = this.#expiresAtMs - Date.now();
    if (left <= 0) {
      this.end('token_expired');
      return;
    }
    this.#expiry = setTimeout(() => this.#armExpiry(), Math.min(left, MAX_TIMER_MS));
  }

  #write(frame: string): void {
    if (this.#ended) return;
    this.#res.write(frame);
    // write() never blocks: past the bound the kernel buffer is full and ours keeps growing.
    if (this.#res.writableLength > this.#opts.maxBufferedBytes) {
      this.#log.warn({ buffered: this.#res.writableLength }, 'sse client too slow; disconnecting');
      this.#metrics.sseSlowBuffered.set(this.#res.writableLength);
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

  #notice(m: Msg): void {
    const subject = parseEventSubject(m.subject, this.#ns, 'live');
    if (!subject) return;
    let event: unknown;
    try {
      event = m.json();
    } catch (err) {
      this.#log.warn({ err, subject: m.subject }, 'unparseable live notice skipped');
      return;
    }
    if (!eventMatches(this.#filter, subject, event)) return;
    this.#write(formatNotice((event as { type?: unknown }).type, event));
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

export const streamRoutes: FastifyPluginAsyncTypebox<StreamRoutesOptions> = async (
  app,
  { deps, metrics, sse },
) => {
  const opts: SseOptions = { ...DEFAULT_SSE_OPTIONS, ...sse };
  const sessions = new Set<SseSession>();
  /** Streams open or being set up, per user id, in this process. */
  const streamsPerUser = new Map<string, number>();
  let closing = false;

  /** Take one of the user's stream slots; the returned release is idempotent. null = none left. */
  function reserveSlot(userId: string): (() => void) | null {
    const held = streamsPerUser.get(userId) ?? 0;
    if (held >= opts.maxStreamsPerUser) return null;
    streamsPerUser.set(userId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (streamsPerUser.get(userId) ?? 1) - 1;
      if (left > 0) streamsPerUser.set(userId, left);
      else streamsPerUser.delete(userId);
    };
  }

  // A revocation written by any gateway: the streams it may concern re-check now.
  const revoked = subscribeControl(deps.nc, deps.names, 'authRevoked', deps.log, (r) => {
    for (const s of sessions) if (s.claims === null || concerns(r, s.claims)) void s.recheck();
  });

  // Open streams never finish on their own: end them so close() does not wait forever.
  app.addHook('preClose', async () => {
    closing = true;
    try {
      revoked.unsubscribe();
    } catch {
      // The connection is already closed: so is the subscription.
    }
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
          "A person's acknowledgement, resolve or snooze of an alert is `alert.acknowledged` / `alert.closed` / " +
          '`alert.snoozed`. ' +
          "Live notices (`equipment.state`: a unit's rule phases changed, at most about one a second " +
          'per unit) come without an `id` and are not replayed on resume. ' +
          'Reconnect with Last-Event-ID (EventSource does it) or ?lastEventId= to receive exactly what was missed. ' +
          'Comments `: hb` are heartbeats. Site-restricted users only receive events of their sites. ' +
          'The stream ends when the access token expires or is revoked (logout, disabled user, suspended ' +
          'tenant): reconnect with a fresh token. At most a few streams per user are open at once (429).',
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
          429: ErrorBody,
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
      // Listening before the first await: a client that leaves while its consumer is being set
      // up must take the consumer with it ('close' fires once; missed, nothing would end it).
      let session: SseSession | null = null;
      let clientLeft = false;
      reply.raw.once('close', () => {
        clientLeft = true;
        session?.end('client_closed');
      });

      const expiresAtMs = principal.tokenExp === undefined ? null : principal.tokenExp * 1000;
      // Verification tolerates a few seconds of clock skew; such a stream would end at once.
      if (expiresAtMs !== null && expiresAtMs <= Date.now()) throw new VigilError('INVALID_TOKEN');
      const query = request.query;
      const plan = planStream(principal, query, deps.names);
      const after = resumeAfter(request.headers['last-event-id'] as string | undefined, query.lastEventId);

      const release = reserveSlot(principal.userId);
      if (!release) {
        throw new VigilError('RATE_LIMITED', `at most ${opts.maxStreamsPerUser} open streams per user`);
      }
      let consumer: Consumer | undefined;
      let messages: ConsumerMessages | undefined;
      // Every way out before the session owns them: slot back, pull stopped, consumer deleted.
      const discard = (): void => {
        release();
        messages?.close().catch(ignore);
        consumer?.delete().catch(ignore);
      };
      try {
        consumer = await deps.js.consumers.get(
          deps.names.events.stream,
          after > 0
            ? { filter_subjects: plan.subject, opt_start_seq: after + 1 }
            : { filter_subjects: plan.subject, deliver_policy: DeliverPolicy.New },
        );
        messages = await consumer.consume({ max_messages: opts.batch });
      } catch (err) {
        discard();
        throw new VigilError('DEPENDENCY_UNAVAILABLE', undefined, { cause: err });
      }
      if (closing) {
        discard();
        throw new VigilError('DEPENDENCY_UNAVAILABLE', 'server shutting down');
      }

      const log = request.log.child({
        tenantId: principal.tenantId,
        userId: principal.userId,
        filter: plan.subject,
      });
      if (clientLeft || request.raw.destroyed || reply.raw.destroyed) {
        discard();
        log.info('sse client left during setup');
        // Nobody to answer: the socket is gone.
        reply.hijack();
        return reply;
      }
      session = new SseSession({
        res: reply.raw,
        consumer,
        messages,
        filter: plan.filter,
        ns: deps.names.ns,
        opts,
        metrics,
        log,
        onEnd: (s) => {
          sessions.delete(s);
          release();
        },
        expiresAtMs,
        isRevoked: () => app.identity.isRevoked(principal),
        claims: revocableClaims(principal),
        subscribeLive: (onMessage) =>
          deps.nc.subscribe(deps.names.live.tenant(principal.tenantId), {
            callback: (err, m) => {
              if (!err) onMessage(m);
            },
          }),
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
