import type { ServiceSchema } from 'moleculer';
import {
  AlertActionEvent,
  AlertEvent,
  compile,
  describeErrors,
  VigilError,
  withTransaction,
  type Pool,
  type PoolClient,
} from '../../schemas/mod.ts';
import { ConsumerRunner, type Decoded, type Delivery, type JsMsg } from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { foldAlert, foldEventOf, type FoldEvent } from './alert-fold.ts';
import { SINK_ACK_WAIT_MS, sinkService } from './sink.service.ts';
import { fromPgError } from '../errors.ts';

/**
 * EVENTS `alert.*` → PostgreSQL `alerts` + `alert_timeline`, as `vigil_worker`.
 *
 * Events arrive at least once and in any order (redeliveries after a crash come back after
 * later events; several sink nodes share the consumer), so the sink never applies an event to
 * the row as it stands. The timeline holds every event once (UNIQUE (alert_id, event_id)), and
 * the row is refolded from the timeline's system events (`foldAlert`) whenever one is new: the
 * same set of events gives the same row, whatever order it arrived in.
 *
 * An actor resolves an alert before it opens the next one of the same unit and rule key, so
 * the alerts of a (unit, rule key) form one sequence, each resolved before the next opens. The
 * sink shows a prefix of that sequence, never a state the actor never had, by holding back
 * (`Deferred`: nak'd, redelivered a second later) the events of an alert that would otherwise
 * have to be shown next to a gap (`waitsForGap`):
 *
 * - any event of an alert while an older one of its key is still open: the older one's
 *   resolution is on its way (the classic case: a crashed node held the sink's copy of it, the
 *   replay's republish was dropped as a duplicate, and it comes back after the ack wait, behind
 *   the next alert). Until it arrives the older alert shows as its own events left it, and the
 *   newer does not show yet: late, not wrong. Storing both as open instead would show two open
 *   alerts for one rule, which no actor ever had (and `alerts_open_uq` forbids); closing the
 *   older one would invent its end from a gap — the transient wrong state of issue 12,
 *   finding 4 ("superseded", resolved at the next alert's opening, minutes before or after the
 *   truth).
 * - a non-resolving event of an alert a newer one of its key already follows, unless the alert
 *   is already resolved: it certainly ended before the newer opened, and only its own
 *   resolution says when.
 *
 * The hold is bounded (`GAP_HOLD_DELIVERIES`): a resolution can be lost for good — an
 * unreadable snapshot makes the actor forget the alert it had open. Past the bound the event is
 * applied, and a newer alert that finds an older one still open closes it provisionally as
 * superseded; provisionally, because the older alert's own resolution, if it ever arrives,
 * replaces the supersession entirely (row and timeline).
 */

const checkEvent = compile(AlertEvent);
const checkAction = compile(AlertActionEvent);

/** The action types, read off the schema: a new action is one literal there, not a second list. */
const ACTION_TYPES: ReadonlySet<unknown> = new Set(
  AlertActionEvent.properties.type.anyOf.map((t) => t.const),
);

/** An event of kind `alert`: a person's action (`alert.acknowledged`, `alert.closed`, `alert.snoozed`)? */
export function isAlertAction(e: AlertEvent | AlertActionEvent): e is AlertActionEvent {
  return ACTION_TYPES.has(e.type);
}

/** An event of kind `alert` on EVENTS: an actor's lifecycle event or a person's action. */
export function decodeAlertEvent(msg: JsMsg): Decoded<AlertEvent | AlertActionEvent> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(msg.data).toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'BAD_JSON', reason: (err as Error).message };
  }
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const check = ACTION_TYPES.has(type) ? checkAction : checkEvent;
  if (!check(value)) {
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      reason: describeErrors((check as unknown as { errors: Parameters<typeof describeErrors>[0] }).errors),
    };
  }
  return { ok: true, value };
}

const ts = (ms: number): string => new Date(ms).toISOString();

/** Timeline actions of the actor's own events: the event type without `alert.`. */
const SYSTEM_ACTIONS = ['opened', 'updated', 'cleared', 'resolved'] as const;
const SUPERSEDED = 'superseded';

function timelineAction(e: AlertEvent): string {
  return e.type.slice('alert.'.length);
}

/**
 * The alert's row, created from `e` if it is the first of its events to arrive. Created
 * closed: what it really is is decided by `settle`, which can first make room for it.
 */
async function ensureRow(c: PoolClient, e: AlertEvent): Promise<void> {
  const d = e.data;
  const f = foldAlert([foldEventOf(e)]);
  await c.query(
    `INSERT INTO alerts (id, tenant_id, site_id, equipment_id, rule_id, rule_key, severity, status, message,
                         value, threshold, opened_at, latched, suppressed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'resolved', $8, $9, $10, $11, $12, $13)
     ON CONFLICT (id) DO NOTHING`,
    [
      d.alertId,
      e.tenantId,
      e.siteId,
      d.equipmentId,
      f.ruleId,
      d.ruleKey,
      f.severity,
      f.message,
      f.value,
      f.threshold,
      ts(f.openedAt),
      f.latched,
      f.suppressed,
    ],
  );
}

/** Record `e` in its alert's timeline; false when it was recorded before (redelivery, replay). */
async function record(c: PoolClient, e: AlertEvent): Promise<boolean> {
  const r = await c.query(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, data)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (alert_id, event_id) DO NOTHING`,
    [e.tenantId, e.data.alertId, e.id, ts(e.ts), timelineAction(e), JSON.stringify(e.data)],
  );
  return r.rowCount === 1;
}

interface Row {
  id: string;
  tenant_id: string;
  equipment_id: string;
  rule_key: string;
  acknowledged_at: Date | null;
  resolved_by: string | null;
}

interface Entry {
  event_id: string;
  at: Date;
  action: string;
  data: unknown;
}

function supersededMessage(by: string): string {
  return `superseded by alert ${by}: its unit opened a new alert for the same rule key`;
}

/** Record that `alertId` gave way to `by`, opened at `at`. */
async function markSuperseded(
  c: PoolClient,
  tenantId: string,
  alertId: string,
  by: string,
  at: number,
): Promise<void> {
  await c.query(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, note, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (alert_id, event_id) DO NOTHING`,
    [
      tenantId,
      alertId,
      `superseded-by:${by}`,
      ts(at),
      SUPERSEDED,
      supersededMessage(by),
      JSON.stringify({ supersededBy: by }),
    ],
  );
}

/** Refold the alert's row from its timeline (locked); see the module comment. */
async function settle(c: PoolClient, alertId: string): Promise<void> {
  const { rows } = await c.query<Row>(
    `SELECT id, tenant_id, equipment_id, rule_key, acknowledged_at, resolved_by FROM alerts WHERE id = $1 FOR UPDATE`,
    [alertId],
  );
  const row = rows[0];
  // Closed by a person: what they decided stands, and later system events only add to the timeline.
  if (!row || row.resolved_by !== null) return;
  const entries = (
    await c.query<Entry>(
      `SELECT event_id, at, action, data FROM alert_timeline WHERE alert_id = $1 AND actor_id IS NULL`,
      [alertId],
    )
  ).rows;
  const events: FoldEvent[] = entries
    .filter((x) => (SYSTEM_ACTIONS as readonly string[]).includes(x.action))
    .map((x) => ({
      eventId: x.event_id,
      type: `alert.${x.action}` as AlertEvent['type'],
      ts: x.at.getTime(),
      data: x.data as AlertEvent['data'],
    }));
  const f = foldAlert(events);
  const supersessions = entries.filter((x) => x.action === SUPERSEDED).sort((a, b) => +a.at - +b.at);
  let closed: { at: number; message: string } | null = null;
  if (f.resolved) {
    // Its own resolution arrived: any supersession was a stand-in for it.
    if (supersessions.length) {
      await c.query('SELECT alert_withdraw_supersessions($1)', [alertId]);
    }
    closed = { at: f.resolved.at, message: f.message };
  } else if (supersessions[0]) {
    const by = (supersessions[0].data as { supersededBy?: string }).supersededBy ?? '';
    closed = { at: supersessions[0].at.getTime(), message: supersededMessage(by) };
  } else {
    const rival = (
      await c.query<{ id: string; tenant_id: string; opened_at: Date }>(
        `SELECT id, tenant_id, opened_at FROM alerts
          WHERE equipment_id = $1 AND rule_key = $2 AND status <> 'resolved' AND id <> $3
          FOR UPDATE`,
        [row.equipment_id, row.rule_key, alertId],
      )
    ).rows[0];
    if (rival && rival.opened_at.getTime() <= f.openedAt) {
      await markSuperseded(c, rival.tenant_id, rival.id, alertId, f.openedAt);
      await settle(c, rival.id);
    } else if (rival) {
      await markSuperseded(c, row.tenant_id, alertId, rival.id, rival.opened_at.getTime());
      closed = { at: rival.opened_at.getTime(), message: supersededMessage(rival.id) };
    }
  }
  const status = closed ? 'resolved' : row.acknowledged_at ? 'acknowledged' : 'active';
  await c.query(
    `UPDATE alerts SET status = $2, severity = $3, value = $4, threshold = $5, message = $6, cleared_at = $7,
                       resolved_at = $8, opened_at = $9, rule_id = $10, latched = $11, suppressed = $12,
                       updated_at = now()
      WHERE id = $1`,
    [
      alertId,
      status,
      f.severity,
      f.value,
      f.threshold,
      closed?.message ?? f.message,
      f.clearedAt === null ? null : ts(f.clearedAt),
      closed ? ts(closed.at) : null,
      ts(f.openedAt),
      f.ruleId,
      f.latched,
      f.suppressed,
    ],
  );
}

/**
 * Whether the events of one alert (`group`) must wait for a gap in their unit's alerts of the
 * same rule key to close; see the module comment.
 */
async function waitsForGap(c: PoolClient, group: readonly AlertEvent[]): Promise<boolean> {
  const d = group[0]!.data;
  const { rows } = await c.query<{ id: string; opened_at: Date; status: string }>(
    `SELECT id, opened_at, status FROM alerts WHERE equipment_id = $1 AND rule_key = $2`,
    [d.equipmentId, d.ruleKey],
  );
  const others = rows.filter((r) => r.id !== d.alertId);
  if (others.some((r) => r.opened_at.getTime() < d.openedAt && r.status !== 'resolved')) return true;
  if (!others.some((r) => r.opened_at.getTime() > d.openedAt)) return false;
  if (group.some((e) => e.type === 'alert.resolved')) return false;
  return rows.find((r) => r.id === d.alertId)?.status !== 'resolved';
}

export interface ApplyAlertEventsOptions {
  /** Whether `e` may still be held back for a gap (false: its hold ran out). Default: always. */
  mayHold?: (e: AlertEvent) => boolean;
}

/**
 * Apply a batch of events, in one transaction, alert by alert, oldest first (an older alert's
 * resolution in the same batch closes the gap a newer one would wait for): record the new
 * events, then settle the alert once. Returns the events held back for a gap, unapplied.
 */
export async function applyAlertEvents(
  pool: Pool,
  events: readonly AlertEvent[],
  options: ApplyAlertEventsOptions = {},
): Promise<AlertEvent[]> {
  const mayHold = options.mayHold ?? ((): boolean => true);
  const byAlert = new Map<string, AlertEvent[]>();
  for (const e of events) {
    const group = byAlert.get(e.data.alertId);
    if (group) group.push(e);
    else byAlert.set(e.data.alertId, [e]);
  }
  const oldestFirst = [...byAlert.values()].sort((a, b) => a[0]!.data.openedAt - b[0]!.data.openedAt);
  try {
    return await withTransaction(pool, async (client) => {
      const held: AlertEvent[] = [];
      for (const group of oldestFirst) {
        if (group.every(mayHold) && (await waitsForGap(client, group))) {
          held.push(...group);
          continue;
        }
        let fresh = false;
        for (const e of group) {
          await ensureRow(client, e);
          if (await record(client, e)) fresh = true;
        }
        if (fresh) await settle(client, group[0]!.data.alertId);
      }
      return held;
    });
  } catch (err) {
    // Another writer opened an alert of the same unit and key between our check and update
    // (several sink nodes share the consumer). Retried: the next attempt sees it.
    if ((err as { constraint?: string }).constraint === 'alerts_open_uq') {
      throw new VigilError('INTERNAL', 'another alert of this unit and rule key was opened concurrently', {
        cause: err,
      });
    }
    throw fromPgError(err, 'writing alert events');
  }
}

/**
 * A held event comes back this much later: a gap closes within an ack wait or so, and a held
 * event costs one redelivery a second meanwhile.
 */
const GAP_HOLD_MS = 1000;
/**
 * Deliveries an event may be held for a gap: some twenty seconds, four ack waits
 * (`SINK_ACK_WAIT_MS`, after which a dead node's messages come back). Past that the resolution
 * is taken as lost (see the module comment).
 */
export const GAP_HOLD_DELIVERIES = 20;

export interface AlertsDeps extends NodeDeps {
  /** `vigil_worker`. */
  worker: Pool;
}

export function alertsRunner(deps: AlertsDeps): ConsumerRunner<AlertEvent | null> {
  const { names } = deps;
  return new ConsumerRunner<AlertEvent | null>({
    js: deps.js,
    jsm: deps.jsm,
    names,
    log: deps.log,
    name: 'alerts_pg',
    stream: names.events.stream,
    durable: names.consumer('alerts_pg'),
    // All of EVENTS, skipping other kinds unread: a filtered consumer behind a backlog is served
    // at a fraction of its rate on nats-server 2.9.10 (see ConsumerOptions.filterSubject).
    select: (subject) => names.events.kindOf(subject) === 'alert',
    dlqSource: 'events',
    mode: 'batch',
    decode: (msg) => {
      const d = decodeAlertEvent(msg);
      // A person's action is in the alert's row and timeline before it is published: nothing to write.
      return d.ok && isAlertAction(d.value) ? { ok: true, value: null } : (d as Decoded<AlertEvent>);
    },
    handle: async (batch) => {
      const deliveryOf = new Map<AlertEvent, Delivery<AlertEvent | null>>();
      for (const d of batch) if (d.value) deliveryOf.set(d.value, d);
      const held = await applyAlertEvents(deps.worker, [...deliveryOf.keys()], {
        mayHold: (e) => (deliveryOf.get(e)?.msg.info.deliveryCount ?? 0) < GAP_HOLD_DELIVERIES,
      });
      return held.map((e) => ({ delivery: deliveryOf.get(e)!, deferMs: GAP_HOLD_MS }));
    },
    batchSize: 200,
    lingerMs: 50,
    ackWaitMs: SINK_ACK_WAIT_MS,
    // The retry policy counts deliveries, and each hold is one: a held event keeps the usual
    // five attempts for failures on top of its holds (an alert is worth retrying longer than a
    // reading anyway: dead-lettered, it is missing from everyone's view).
    maxDeliver: GAP_HOLD_DELIVERIES + 5,
  });
}

export function alertsService(deps: AlertsDeps): ServiceSchema {
  return sinkService('alerts', alertsRunner(deps));
}
