import type { ServiceSchema } from 'moleculer';
import type { AlertEvent, Logger, Pool, Severity } from '../../schemas/mod.ts';
import {
  ConsumerRunner,
  type ConsumerStats,
  type Decoded,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Names,
} from '../../streams/mod.ts';
import { cameraAlertChange } from '../camera/camera-alerts.ts';
import { CAMERA_ALERT_KINDS } from '../camera/camera-alerts.sink.ts';
import { fromPgError } from '../errors.ts';
import { decodeAlertEvent, isAlertAction } from '../sinks/alerts.sink.ts';
import { decodeCameraSideEvent } from '../sinks/people-ch.sink.ts';
import {
  actionNotice,
  alertNotice,
  cameraNotice,
  reminderNumber,
  retryDelayMs,
  routes,
  webhookBody,
  type AlertSummary,
  type Channel,
  type NotificationKind,
  type Notice,
} from './notify.routing.ts';
import { DELIVERY_HEADER, KIND_HEADER, SIGNATURE_HEADER, postWebhook, signature } from './webhook.ts';

/**
 * Alert notifications through per-tenant channels (webhooks), as `vigil_worker`.
 *
 * Three sources fill one outbox (`notification_deliveries`, unique per channel and cause, so a
 * redelivered event, a second sweep or a second node adds nothing): the EVENTS stream through a
 * durable consumer — equipment's `alert.*` (opened, severity changed, cleared, resolved) and the
 * camera events that open or resolve a camera alert (offline, crowding), and people's
 * acknowledgements and manual resolves (`alert.acknowledged`, `alert.closed`) — a sweep of
 * those same actions in the alert timeline, under the same causes (for an action the gateway
 * committed but could not publish), and reminders of alerts still active (not acknowledged,
 * not snoozed). The consumer acks an event once its rows are
 * committed. A delivery loop claims due rows (SKIP LOCKED, with a lease, so several nodes
 * share the work; only the head of each channel's queue for an alert, so it goes out in order),
 * signs and posts them, and on failure retries with exponential backoff until
 * `maxAttempts`, after which the row is dead. Every outcome lands in the alert's timeline.
 */

export interface NotifierOptions {
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timeoutMs?: number;
  /** How often due deliveries are sent and reminders and people's actions swept. */
  deliverEveryMs?: number;
  sweepEveryMs?: number;
  /** Server clock; tests drive their own. */
  clock?: () => number;
  /**
   * Send only these tenants' deliveries (default: every tenant's). For notifiers dedicated to
   * some tenants, and for tests that share one database: a notifier on another clock would
   * otherwise send their rows too.
   */
  tenants?: readonly string[];
}

export interface NotifierDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  log: Logger;
  /** `vigil_worker`. */
  worker: Pool;
}

export interface NotifierStats {
  consumer: ConsumerStats;
  enqueued: number;
  delivered: number;
  failedAttempts: number;
  dead: number;
}

interface ChannelRow {
  id: string;
  tenant_id: string;
  name: string;
  url: string;
  secret: string;
  min_severity: Severity;
  site_ids: string[] | null;
  remind_every_s: number | null;
}

const toChannel = (r: ChannelRow): Channel => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  url: r.url,
  secret: r.secret,
  minSeverity: r.min_severity,
  siteIds: r.site_ids,
  remindEveryS: r.remind_every_s,
});

const CHANNEL_COLUMNS = 'id, tenant_id, name, url, secret, min_severity, site_ids, remind_every_s';

interface Outgoing {
  tenantId: string;
  channelId: string;
  alertId: string;
  cause: string;
  kind: NotificationKind;
  payload: Record<string, unknown>;
}

interface AlertRow {
  id: string;
  tenant_id: string;
  site_id: string;
  equipment_id: string | null;
  camera_id: string | null;
  zone_id: string | null;
  rule_key: string;
  severity: Severity;
  message: string;
  opened_at: Date;
  suppressed: boolean;
}

const summaryOfRow = (a: AlertRow): AlertSummary => ({
  alertId: a.id,
  tenantId: a.tenant_id,
  siteId: a.site_id,
  equipmentId: a.equipment_id,
  cameraId: a.camera_id,
  zoneId: a.zone_id,
  ruleKey: a.rule_key,
  severity: a.severity,
  message: a.message,
  openedAt: a.opened_at.getTime(),
  suppressed: a.suppressed,
});

/**
 * An event of EVENTS as a notice; null for what pages nobody: camera and people events that
 * change no alert, and snoozes.
 */
function decodeNotice(names: Names, msg: JsMsg): Decoded<Notice | null> {
  if (names.events.kindOf(msg.subject) === 'alert') {
    const d = decodeAlertEvent(msg);
    if (!d.ok) return d;
    const e = d.value;
    return { ok: true, value: isAlertAction(e) ? actionNotice(e) : alertNotice(e) };
  }
  const d = decodeCameraSideEvent(msg);
  if (!d.ok) return d;
  const change = d.value && cameraAlertChange(d.value);
  if (!change) return { ok: true, value: null };
  return { ok: true, value: cameraNotice(change) };
}

export class Notifier {
  readonly #d: NotifierDeps;
  readonly #o: Required<Omit<NotifierOptions, 'tenants'>>;
  /** `NotifierOptions.tenants` as the claim query's parameter: null sends every tenant's. */
  readonly #tenants: string[] | null;
  readonly #runner: ConsumerRunner<Notice | null>;
  #loops: NodeJS.Timeout[] = [];
  /** Loops running now: one run of each at a time, so a slow receiver cannot pile them up. */
  readonly #running = new Set<string>();
  /**
   * Timeline entries of people's actions up to this id were considered. The next sweep looks a
   * little behind it (an entry can commit after a higher id did); the outbox's uniqueness
   * drops what it sees twice.
   */
  #timelineCursor: number | null = null;
  readonly #stats = { enqueued: 0, delivered: 0, failedAttempts: 0, dead: 0 };

  constructor(deps: NotifierDeps, opts: NotifierOptions = {}) {
    this.#d = deps;
    this.#o = {
      maxAttempts: opts.maxAttempts ?? 8,
      retryBaseMs: opts.retryBaseMs ?? 5_000,
      retryMaxMs: opts.retryMaxMs ?? 15 * 60_000,
      timeoutMs: opts.timeoutMs ?? 10_000,
      deliverEveryMs: opts.deliverEveryMs ?? 1_000,
      sweepEveryMs: opts.sweepEveryMs ?? 15_000,
      clock: opts.clock ?? Date.now,
    };
    this.#tenants = opts.tenants ? [...opts.tenants] : null;
    const { names } = deps;
    this.#runner = new ConsumerRunner<Notice | null>({
      js: deps.js,
      jsm: deps.jsm,
      names,
      log: deps.log,
      name: 'notifier',
      stream: names.events.stream,
      durable: names.consumer('notifier'),
      // All of EVENTS, skipping other kinds unread: a filtered consumer behind a backlog is served
      // at a fraction of its rate on nats-server 2.9.10 (see ConsumerOptions.filterSubject).
      select: (subject) => {
        const kind = names.events.kindOf(subject) ?? '';
        return kind === 'alert' || CAMERA_ALERT_KINDS.has(kind);
      },
      dlqSource: 'events',
      mode: 'batch',
      decode: (msg) => decodeNotice(names, msg),
      handle: async (batch) => {
        await this.#enqueueNotices(batch.flatMap((d) => (d.value ? [d.value] : [])));
      },
      batchSize: 200,
      lingerMs: 50,
    });
  }

  async start(): Promise<void> {
    await this.#runner.start();
    const every = (name: string, ms: number, fn: () => Promise<unknown>): void => {
      const t = setInterval(() => void this.#once(name, fn), ms);
      t.unref();
      this.#loops.push(t);
    };
    every('deliver', this.#o.deliverEveryMs, () => this.deliverDue());
    every('sweep', this.#o.sweepEveryMs, () => this.sweep());
  }

  async stop(): Promise<void> {
    for (const t of this.#loops) clearInterval(t);
    this.#loops = [];
    await this.#runner.stop();
  }

  stats(): NotifierStats {
    return { consumer: this.#runner.stats(), ...this.#stats };
  }

  async #once(name: string, fn: () => Promise<unknown>): Promise<void> {
    if (this.#running.has(name)) return;
    this.#running.add(name);
    try {
      await fn();
    } catch (err) {
      this.#d.log.warn({ err, loop: name }, 'notifier loop failed; the next round retries');
    } finally {
      this.#running.delete(name);
    }
  }

  async #channels(tenantIds: string[], reminders = false): Promise<Channel[]> {
    if (tenantIds.length === 0 && !reminders) return [];
    try {
      const r = await this.#d.worker.query<ChannelRow>(
        reminders
          ? `SELECT ${CHANNEL_COLUMNS} FROM notification_channels WHERE enabled AND remind_every_s IS NOT NULL`
          : `SELECT ${CHANNEL_COLUMNS} FROM notification_channels WHERE enabled AND tenant_id = ANY($1::uuid[])`,
        reminders ? [] : [tenantIds],
      );
      return r.rows.map(toChannel);
    } catch (err) {
      throw fromPgError(err, 'loading notification channels');
    }
  }

  async #enqueue(rows: Outgoing[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      const r = await this.#d.worker.query(
        `INSERT INTO notification_deliveries (tenant_id, channel_id, alert_id, cause, kind, payload, next_attempt_at)
         SELECT t, c, a, cause, kind, payload, to_timestamp($7::float8 / 1000)
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[])
                WITH ORDINALITY AS x(t, c, a, cause, kind, payload, ord)
          -- Their seq in the order given: one alert's notices of one batch go out as they happened.
          ORDER BY ord
         ON CONFLICT (channel_id, cause) DO NOTHING`,
        [
          rows.map((r) => r.tenantId),
          rows.map((r) => r.channelId),
          rows.map((r) => r.alertId),
          rows.map((r) => r.cause),
          rows.map((r) => r.kind),
          rows.map((r) => JSON.stringify(r.payload)),
          this.#o.clock(),
        ],
      );
      this.#stats.enqueued += r.rowCount ?? 0;
    } catch (err) {
      throw fromPgError(err, 'enqueueing notifications');
    }
  }

  /** Alert events from the stream: one delivery per routed channel. */
  async enqueueEvents(events: readonly AlertEvent[]): Promise<void> {
    await this.#enqueueNotices(events.map(alertNotice));
  }

  async #enqueueNotices(notices: readonly Notice[]): Promise<void> {
    if (notices.length === 0) return;
    const channels = await this.#channels([...new Set(notices.map((n) => n.alert.tenantId))]);
    const out: Outgoing[] = [];
    for (const { cause, kind, alert, at, extra } of notices) {
      for (const ch of channels) {
        if (!routes(ch, alert)) continue;
        out.push({
          tenantId: alert.tenantId,
          channelId: ch.id,
          alertId: alert.alertId,
          cause,
          kind,
          payload: webhookBody(kind, alert, at, extra),
        });
      }
    }
    await this.#enqueue(out);
  }

  /** Reminders of active alerts, and people's acknowledgements and manual resolves. */
  async sweep(): Promise<void> {
    await this.#remind();
    await this.#peopleActions();
  }

  async #remind(): Promise<void> {
    const channels = await this.#channels([], true);
    if (channels.length === 0) return;
    const now = this.#o.clock();
    let alerts: AlertRow[];
    try {
      const r = await this.#d.worker.query<AlertRow>(
        `SELECT id, tenant_id, site_id, equipment_id, camera_id, zone_id, rule_key, severity, message, opened_at,
                suppressed
           FROM alerts
          WHERE status = 'active' AND tenant_id = ANY($1::uuid[])
            AND (snoozed_until IS NULL OR snoozed_until <= to_timestamp($2::float8 / 1000))`,
        [[...new Set(channels.map((c) => c.tenantId))], now],
      );
      alerts = r.rows;
    } catch (err) {
      throw fromPgError(err, 'loading active alerts');
    }
    const out: Outgoing[] = [];
    for (const a of alerts) {
      const alert = summaryOfRow(a);
      for (const ch of channels) {
        if (ch.remindEveryS === null || !routes(ch, alert)) continue;
        // Only the latest reminder due: a notifier that was down does not replay the backlog.
        const n = reminderNumber(alert.openedAt, now, ch.remindEveryS);
        if (n < 1) continue;
        out.push({
          tenantId: a.tenant_id,
          channelId: ch.id,
          alertId: a.id,
          cause: `reminder:${a.id}:${n}`,
          kind: 'reminder',
          payload: webhookBody('reminder', alert, alert.openedAt + n * ch.remindEveryS * 1000, {
            reminder: n,
          }),
        });
      }
    }
    await this.#enqueue(out);
  }

  async #peopleActions(): Promise<void> {
    const now = this.#o.clock();
    interface Entry extends AlertRow {
      entry_id: string;
      action: 'acknowledged' | 'resolved';
      actor_id: string;
      note: string | null;
      at: Date;
    }
    let entries: Entry[];
    try {
      // First sweep: the last day; later ones: what came after the cursor.
      const r = await this.#d.worker.query<Entry>(
        `SELECT t.id::text AS entry_id, t.action, t.actor_id, t.note, t.at,
                a.id, a.tenant_id, a.site_id, a.equipment_id, a.camera_id, a.zone_id, a.rule_key, a.severity,
                a.message, a.opened_at, a.suppressed
           FROM alert_timeline t JOIN alerts a ON a.id = t.alert_id
          WHERE t.actor_id IS NOT NULL AND t.action IN ('acknowledged', 'resolved')
            AND ${this.#timelineCursor === null ? `t.at > to_timestamp($1::float8 / 1000) - interval '1 day'` : 't.id > $1 - 200'}
            AND EXISTS (SELECT 1 FROM notification_channels c WHERE c.tenant_id = a.tenant_id AND c.enabled)
          ORDER BY t.id LIMIT 1000`,
        [this.#timelineCursor ?? now],
      );
      entries = r.rows;
    } catch (err) {
      throw fromPgError(err, 'loading alert timeline');
    }
    if (entries.length === 0) return;
    const channels = await this.#channels([...new Set(entries.map((e) => e.tenant_id))]);
    const out: Outgoing[] = [];
    for (const e of entries) {
      const alert = summaryOfRow(e);
      for (const ch of channels) {
        if (!routes(ch, alert)) continue;
        out.push({
          tenantId: e.tenant_id,
          channelId: ch.id,
          alertId: e.id,
          cause: `timeline:${e.entry_id}`,
          kind: e.action,
          payload: webhookBody(e.action, alert, e.at.getTime(), { by: e.actor_id, note: e.note }),
        });
      }
    }
    await this.#enqueue(out);
    this.#timelineCursor = Number(entries[entries.length - 1]!.entry_id);
  }

  /** Send every due delivery once; returns how many were attempted. */
  async deliverDue(limit = 50): Promise<number> {
    const now = this.#o.clock();
    interface Due {
      id: string;
      tenant_id: string;
      alert_id: string;
      kind: string;
      payload: unknown;
      attempts: number;
      channel_id: string;
      name: string;
      url: string;
      secret: string;
    }
    let due: Due[];
    try {
      // Claimed with a lease past the send timeout: another node skips them meanwhile. Only the
      // head of each (channel, alert) queue is claimed: a row whose earlier sibling is pending —
      // claimed by another node, or waiting for a retry — waits for it, so a channel hears of one
      // alert in the order things happened, whichever node sends.
      const r = await this.#d.worker.query<Due & { due_us: string; seq: string }>(
        `WITH picked AS (
           SELECT d.id, d.next_attempt_at, d.seq FROM notification_deliveries d
            WHERE d.status = 'pending' AND d.next_attempt_at <= to_timestamp($1::float8 / 1000)
              AND ($4::uuid[] IS NULL OR d.tenant_id = ANY($4::uuid[]))
              AND NOT EXISTS (
                SELECT 1 FROM notification_deliveries e
                 WHERE e.channel_id = d.channel_id AND e.alert_id = d.alert_id
                   AND e.status = 'pending' AND e.seq < d.seq)
            ORDER BY d.next_attempt_at, d.seq LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE notification_deliveries d
            SET next_attempt_at = to_timestamp(($1::float8 + $2::float8) / 1000)
           FROM picked p, notification_channels c
          WHERE d.id = p.id AND c.id = d.channel_id
      RETURNING d.id, d.tenant_id, d.alert_id, d.kind, d.payload, d.attempts, d.channel_id, c.name, c.url, c.secret,
                (extract(epoch FROM p.next_attempt_at) * 1000000)::bigint AS due_us, p.seq`,
        [now, this.#o.timeoutMs * 2, limit, this.#tenants],
      );
      // RETURNING keeps no order: sent in the order they fell due, then were enqueued (seq, not
      // created_at: one insert's rows share a transaction time).
      due = r.rows.sort((a, b) => Number(a.due_us) - Number(b.due_us) || Number(a.seq) - Number(b.seq));
    } catch (err) {
      throw fromPgError(err, 'claiming notification deliveries');
    }
    for (const row of due) {
      const body = JSON.stringify({ id: row.id, ...(row.payload as object) });
      const sent = await postWebhook(
        row.url,
        body,
        {
          [SIGNATURE_HEADER]: signature(row.secret, body, Math.floor(this.#o.clock() / 1000)),
          [DELIVERY_HEADER]: row.id,
          [KIND_HEADER]: row.kind,
        },
        this.#o.timeoutMs,
      );
      await this.#record(row, sent, this.#o.clock());
    }
    return due.length;
  }

  async #record(
    row: {
      id: string;
      tenant_id: string;
      alert_id: string;
      kind: string;
      attempts: number;
      channel_id: string;
      name: string;
    },
    sent: Awaited<ReturnType<typeof postWebhook>>,
    now: number,
  ): Promise<void> {
    const attempts = row.attempts + 1;
    const dead = !sent.ok && attempts >= this.#o.maxAttempts;
    const status = sent.ok ? 'delivered' : dead ? 'dead' : 'pending';
    const next =
      sent.ok || dead ? now : now + retryDelayMs(attempts, this.#o.retryBaseMs, this.#o.retryMaxMs);
    const error = sent.ok ? null : sent.error;
    try {
      await this.#d.worker.query(
        `UPDATE notification_deliveries
            SET status = $2, attempts = $3, next_attempt_at = to_timestamp($4::float8 / 1000),
                last_error = $5, response_status = $6,
                delivered_at = CASE WHEN $2 = 'delivered' THEN to_timestamp($7::float8 / 1000) END
          WHERE id = $1`,
        [row.id, status, attempts, next, error, sent.status, now],
      );
      if (status !== 'pending') {
        // The alert row may still be on its way (sinks are separate consumers): then no entry.
        await this.#d.worker.query(
          `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, data)
           SELECT $1, $2, $3, to_timestamp($4::float8 / 1000), $5, $6::jsonb
            WHERE EXISTS (SELECT 1 FROM alerts WHERE id = $2)
           ON CONFLICT (alert_id, event_id) DO NOTHING`,
          [
            row.tenant_id,
            row.alert_id,
            `notify:${row.id}`,
            now,
            status === 'delivered' ? 'notified' : 'notification_failed',
            JSON.stringify({
              channelId: row.channel_id,
              channel: row.name,
              notification: row.kind,
              attempts,
              ...(error ? { error } : {}),
              ...(sent.status === null ? {} : { responseStatus: sent.status }),
            }),
          ],
        );
      }
    } catch (err) {
      throw fromPgError(err, 'recording a notification delivery');
    }
    if (sent.ok) this.#stats.delivered++;
    else {
      this.#stats.failedAttempts++;
      if (dead) {
        this.#stats.dead++;
        this.#d.log.error(
          { deliveryId: row.id, channelId: row.channel_id, alertId: row.alert_id, attempts, error },
          'notification dead after its last attempt',
        );
      }
    }
  }
}

export function notifierService(deps: NotifierDeps, opts?: NotifierOptions): ServiceSchema {
  const notifier = new Notifier(deps, opts);
  return {
    name: 'notifier',
    actions: { health: { handler: () => notifier.stats() } },
    async started() {
      await notifier.start();
    },
    async stopped() {
      await notifier.stop();
    },
  };
}
