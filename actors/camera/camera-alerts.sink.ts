import type { ServiceSchema } from 'moleculer';
import { CameraEvent, withTransaction, type Pool, type PoolClient } from '../../schemas/mod.ts';
import { ConsumerRunner, jsonDecoder } from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { fromPgError } from '../errors.ts';
import { SINK_ACK_WAIT_MS, sinkService } from '../sinks/sink.service.ts';
import { CAMERA_OFFLINE_RULE } from './camera-status.decider.ts';

/**
 * EVENTS `camera.*` → the camera_offline alerts in PostgreSQL `alerts` + `alert_timeline`, as
 * `vigil_worker`: the same rows, timeline, acknowledgement and resolution as equipment alerts.
 * `camera.offline` opens the alert it names, `camera.online` resolves it; other camera events
 * carry no alert and are acked.
 *
 * Order does not matter and a redelivery changes nothing: each event is one timeline entry
 * (UNIQUE (alert_id, event_id)), the row is created by whichever of its events comes first, and
 * the resolution sticks once recorded — an `online` that arrives before its `offline` leaves the
 * alert resolved. A person's resolution stands (`resolved_by`). An alert whose `online` was lost
 * for good (its node died between the decision and the publish) is closed as superseded when
 * the camera's next alert opens: one open alert per (camera, rule key).
 */

const iso = (ms: number): string => new Date(ms).toISOString();

async function applyOne(c: PoolClient, e: CameraEvent): Promise<void> {
  const alert = e.data.alert;
  if (!alert || (e.type !== 'camera.offline' && e.type !== 'camera.online')) return;
  const offline = e.type === 'camera.offline';
  const message = `camera offline: ${e.data.reason ?? 'stream lost'}`;
  if (offline)
    await c.query(
      `UPDATE alerts SET status = 'resolved', resolved_at = $4, updated_at = now(),
              message = message || ' (superseded: the camera went offline again)'
        WHERE camera_id = $1 AND rule_key = $2 AND status <> 'resolved' AND id <> $3 AND opened_at <= $4`,
      [e.data.cameraId, CAMERA_OFFLINE_RULE, alert.alertId, iso(alert.openedAt)],
    );
  await c.query(
    `INSERT INTO alerts (id, tenant_id, site_id, camera_id, rule_key, severity, status, message, opened_at,
                         resolved_at)
     VALUES ($1, $2, $3, $4, $5, 'critical', $6, $7, $8, $9)
     ON CONFLICT (id) DO NOTHING`,
    [
      alert.alertId,
      e.tenantId,
      e.siteId,
      e.data.cameraId,
      CAMERA_OFFLINE_RULE,
      offline ? 'active' : 'resolved',
      message,
      iso(alert.openedAt),
      offline ? null : iso(e.ts),
    ],
  );
  const recorded = await c.query(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, data)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (alert_id, event_id) DO NOTHING`,
    [e.tenantId, alert.alertId, e.id, iso(e.ts), offline ? 'opened' : 'resolved', JSON.stringify(e.data)],
  );
  if (recorded.rowCount !== 1) return;
  if (offline)
    await c.query(`UPDATE alerts SET message = $2, updated_at = now() WHERE id = $1`, [
      alert.alertId,
      message,
    ]);
  else
    await c.query(
      `UPDATE alerts SET status = 'resolved', resolved_at = $2, updated_at = now()
        WHERE id = $1 AND status <> 'resolved' AND resolved_by IS NULL`,
      [alert.alertId, iso(e.ts)],
    );
}

/** Apply a batch of camera events in one transaction, oldest first. */
export async function applyCameraAlertEvents(pool: Pool, events: readonly CameraEvent[]): Promise<void> {
  try {
    await withTransaction(pool, async (c) => {
      for (const e of [...events].sort((a, b) => a.ts - b.ts)) await applyOne(c, e);
    });
  } catch (err) {
    throw fromPgError(err, 'writing camera alerts');
  }
}

export interface CameraAlertsDeps extends NodeDeps {
  /** `vigil_worker`. */
  worker: Pool;
}

export function cameraAlertsService(deps: CameraAlertsDeps): ServiceSchema {
  const { names } = deps;
  return sinkService(
    'camera-alerts',
    new ConsumerRunner<CameraEvent>({
      js: deps.js,
      jsm: deps.jsm,
      names,
      log: deps.log,
      name: 'camera_alerts_pg',
      stream: names.events.stream,
      durable: names.consumer('camera_alerts_pg'),
      filterSubject: names.events.kind('camera'),
      dlqSource: 'events',
      mode: 'batch',
      decode: jsonDecoder(CameraEvent),
      handle: async (batch) => {
        await applyCameraAlertEvents(
          deps.worker,
          batch.map((d) => d.value),
        );
      },
      batchSize: 100,
      lingerMs: 50,
      ackWaitMs: SINK_ACK_WAIT_MS,
    }),
  );
}
