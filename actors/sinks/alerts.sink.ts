import type { ServiceSchema } from 'moleculer';
import {
  AlertEvent,
  compile,
  describeErrors,
  VigilError,
  type Pool,
  type PoolClient,
} from '../../schemas/mod.ts';
import { ConsumerRunner, type ConsumerStats, type Decoded, type JsMsg } from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { fromPgError } from '../errors.ts';

/**
 * EVENTS `alert.*` → PostgreSQL `alerts` + `alert_timeline`, as `vigil_worker`. Idempotent by
 * event id: the timeline's UNIQUE (alert_id, event_id) decides whether an event is new, and
 * only a new event touches the alert row. Order-tolerant: every event carries the whole alert,
 * so whichever arrives first creates the row; a resolved alert is never reopened, and an
 * event older than one already applied does not overwrite it.
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
export function timelineAction(e: AlertEvent): string {
  return e.type.slice('alert.'.length);
}

async function applyEvent(c: PoolClient, e: AlertEvent): Promise<void> {
  const d = e.data;
  const resolved = e.type === 'alert.resolved';
  const inserted = await c.query(
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
      resolved ? 'resolved' : 'active',
      d.message,
      d.value,
      d.threshold,
      ts(d.openedAt),
      e.type === 'alert.cleared' ? ts(e.ts) : null,
      resolved ? ts(e.ts) : null,
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
  let client: PoolClient | undefined;
  try {
    client = await pool.connect();
    await client.query('BEGIN');
    for (const e of events) await applyEvent(client, e);
    await client.query('COMMIT');
  } catch (err) {
    await client?.query('ROLLBACK').catch(() => undefined);
    // Another open alert of the same unit and key: its resolution is still on the way (events
    // overtaken after a retry). Transient, so retried — not dead-lettered at once.
    if ((err as { constraint?: string }).constraint === 'alerts_open_uq') {
      throw new VigilError('INTERNAL', 'another alert of this unit and rule key is still open', {
        cause: err,
      });
    }
    throw fromPgError(err, 'writing alert events');
  } finally {
    client?.release();
  }
}

export interface AlertsDeps extends NodeDeps {
  /** `vigil_worker`. */
  worker: Pool;
}

export function alertsRunner(deps: AlertsDeps): ConsumerRunner<AlertEvent> {
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
  const runner = alertsRunner(deps);
  return {
    name: 'alerts',
    actions: {
      health: { handler: (): { consumer: ConsumerStats } => ({ consumer: runner.stats() }) },
    },
    async started() {
      await runner.start();
    },
    async stopped() {
      await runner.stop();
    },
  };
}
