import type { ServiceSchema } from 'moleculer';
import {
  AlertEvent,
  compile,
  describeErrors,
  VigilError,
  withTransaction,
  type Pool,
  type PoolClient,
} from '../../schemas/mod.ts';
import { ConsumerRunner, type Decoded, type JsMsg } from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { sinkService } from './sink.service.ts';
import { fromPgError } from '../errors.ts';

/**
 * EVENTS `alert.*` → PostgreSQL `alerts` + `alert_timeline`, as `vigil_worker`. Idempotent by
 * event id: the timeline's UNIQUE (alert_id, event_id) decides whether an event is new, and
 * only a new event touches the alert row. Order-tolerant: every event carries the whole alert,
 * so whichever arrives first creates the row; a resolved alert is never reopened, and an
 * event older than one already applied does not overwrite it. An alert that finds another one
 * of its unit and key still open supersedes it (the older is resolved, timeline `superseded`)
 * instead of failing on the one-open-alert index.
 */

const checkEvent = compile(AlertEvent);

export function decodeAlertEvent(msg: JsMsg): Decoded<AlertEvent> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(msg.data).toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'BAD_JSON', reason: (err as Error).message };
  }
  if (!checkEvent(value)) {
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      reason: describeErrors(
        (checkEvent as unknown as { errors: Parameters<typeof describeErrors>[0] }).errors,
      ),
    };
  }
  return { ok: true, value };
}

const ts = (ms: number): string => new Date(ms).toISOString();

/** Timeline action of an event: its type without the `alert.` prefix. */
function timelineAction(e: AlertEvent): string {
  return e.type.slice('alert.'.length);
}

interface Existing {
  id: string;
  tenant_id: string;
  opened_at: Date;
}

/**
 * The event's own alert row, if it exists, and any other open alert of the same unit and key
 * (locked). Another open one can exist only when an actor lost track of an alert (a snapshot
 * that could not be read, a restore from an older one) or when retries reordered events; the
 * new alert must not be refused because of it.
 */
async function existing(
  c: PoolClient,
  d: AlertEvent['data'],
): Promise<{ self: Existing | undefined; rival: Existing | undefined }> {
  const { rows } = await c.query<Existing>(
    `SELECT id, tenant_id, opened_at FROM alerts
      WHERE id = $3 OR (equipment_id = $1 AND rule_key = $2 AND status <> 'resolved')
      FOR UPDATE`,
    [d.equipmentId, d.ruleKey, d.alertId],
  );
  return { self: rows.find((r) => r.id === d.alertId), rival: rows.find((r) => r.id !== d.alertId) };
}

/** Close `alertId` as superseded by `by` (the alert opened after it), with a timeline entry. */
async function supersede(
  c: PoolClient,
  tenantId: string,
  alertId: string,
  by: string,
  at: number,
): Promise<void> {
  const message = `superseded by alert ${by}: its unit opened a new alert for the same rule key`;
  await c.query(
    `UPDATE alerts SET status = 'resolved', resolved_at = $2, message = $3, updated_at = now()
      WHERE id = $1 AND status <> 'resolved'`,
    [alertId, ts(at), message],
  );
  await c.query(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, note, data)
     VALUES ($1, $2, $3, $4, 'superseded', $5, $6)
     ON CONFLICT (alert_id, event_id) DO NOTHING`,
    [tenantId, alertId, `superseded-by:${by}`, ts(at), message, JSON.stringify({ supersededBy: by })],
  );
}

async function applyEvent(c: PoolClient, e: AlertEvent): Promise<void> {
  const d = e.data;
  const resolved = e.type === 'alert.resolved';
  const found = await existing(c, d);
  const exists = found.self !== undefined;
  // Whichever event of an alert arrives first creates its row; only a new open row can collide.
  const rival = exists || resolved ? undefined : found.rival;
  // The older of the two gives way: one open alert per (unit, key) is what everyone reads.
  const rivalIsOlder = rival !== undefined && rival.opened_at.getTime() <= d.openedAt;
  if (rival && rivalIsOlder) await supersede(c, rival.tenant_id, rival.id, d.alertId, d.openedAt);
  const closedOnArrival = resolved || (rival !== undefined && !rivalIsOlder);
  const inserted = exists
    ? { rowCount: 0 }
    : await c.query(
        `INSERT INTO alerts (id, tenant_id, site_id, equipment_id, rule_id, rule_key, severity, status, message,
                             value, threshold, opened_at, cleared_at, resolved_at, latched, suppressed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (id) DO NOTHING`,
        [
          d.alertId,
          e.tenantId,
          e.siteId,
          d.equipmentId,
          d.ruleId,
          d.ruleKey,
          d.severity,
          closedOnArrival ? 'resolved' : 'active',
          d.message,
          d.value,
          d.threshold,
          ts(d.openedAt),
          e.type === 'alert.cleared' ? ts(e.ts) : null,
          resolved ? ts(e.ts) : closedOnArrival ? rival!.opened_at.toISOString() : null,
          d.latched,
          d.suppressed,
        ],
      );
  const timeline = await c.query(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, data)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (alert_id, event_id) DO NOTHING`,
    [e.tenantId, d.alertId, e.id, ts(e.ts), timelineAction(e), JSON.stringify(d)],
  );
  // Arrived after a newer alert of its unit and key: recorded, closed as superseded by it.
  if (rival && !rivalIsOlder) {
    await supersede(c, e.tenantId, d.alertId, rival.id, rival.opened_at.getTime());
  }
  // Seen before (redelivery, replay) — or the row was just created from this very event.
  if (timeline.rowCount === 0 || inserted.rowCount === 1) return;
  // Applied only if no later system event of this alert is already recorded.
  const notStale = `status <> 'resolved' AND NOT EXISTS (
      SELECT 1 FROM alert_timeline t WHERE t.alert_id = $1 AND t.actor_id IS NULL AND t.at > $2)`;
  switch (e.type) {
    case 'alert.opened':
      return;
    case 'alert.updated':
      await c.query(
        `UPDATE alerts SET severity = $3, value = $4, threshold = $5, message = $6, cleared_at = NULL,
                           updated_at = now()
          WHERE id = $1 AND ${notStale}`,
        [d.alertId, ts(e.ts), d.severity, d.value, d.threshold, d.message],
      );
      return;
    case 'alert.cleared':
      await c.query(
        `UPDATE alerts SET cleared_at = $2, value = $3, message = $4, updated_at = now()
          WHERE id = $1 AND ${notStale}`,
        [d.alertId, ts(e.ts), d.value, d.message],
      );
      return;
    case 'alert.resolved':
      await c.query(
        `UPDATE alerts SET status = 'resolved', resolved_at = $2, value = COALESCE($3, value), message = $4,
                           updated_at = now()
          WHERE id = $1 AND status <> 'resolved'`,
        [d.alertId, ts(e.ts), d.value, d.message],
      );
      return;
    default: {
      const unreachable: never = e.type;
      return unreachable;
    }
  }
}

/** Apply a batch of events in stream order, in one transaction. */
export async function applyAlertEvents(pool: Pool, events: readonly AlertEvent[]): Promise<void> {
  try {
    await withTransaction(pool, async (client) => {
      for (const e of events) await applyEvent(client, e);
    });
  } catch (err) {
    // Another writer opened an alert of the same unit and key between our check and insert
    // (several sink nodes share the consumer). Retried: the next attempt sees and supersedes it.
    if ((err as { constraint?: string }).constraint === 'alerts_open_uq') {
      throw new VigilError('INTERNAL', 'another alert of this unit and rule key was opened concurrently', {
        cause: err,
      });
    }
    throw fromPgError(err, 'writing alert events');
  }
}

export interface AlertsDeps extends NodeDeps {
  /** `vigil_worker`. */
  worker: Pool;
}

function alertsRunner(deps: AlertsDeps): ConsumerRunner<AlertEvent> {
  const { names } = deps;
  return new ConsumerRunner<AlertEvent>({
    js: deps.js,
    jsm: deps.jsm,
    names,
    log: deps.log,
    name: 'alerts_pg',
    stream: names.events.stream,
    durable: names.consumer('alerts_pg'),
    filterSubject: names.events.kind('alert'),
    dlqSource: 'events',
    mode: 'batch',
    decode: decodeAlertEvent,
    handle: async (batch) => {
      await applyAlertEvents(
        deps.worker,
        batch.map((d) => d.value),
      );
    },
    batchSize: 200,
    lingerMs: 50,
  });
}

export function alertsService(deps: AlertsDeps): ServiceSchema {
  return sinkService('alerts', alertsRunner(deps));
}
