import type { ServiceSchema } from 'moleculer';
import { withTransaction, type Pool, type PoolClient } from '../../schemas/mod.ts';
import { ConsumerRunner } from '../../streams/mod.ts';
import type { NodeDeps } from '../deps.ts';
import { fromPgError } from '../errors.ts';
import { decodeCameraSideEvent } from '../sinks/people-ch.sink.ts';
import { SINK_ACK_WAIT_MS, sinkService } from '../sinks/sink.service.ts';
import { cameraAlertChange, type CameraAlertChange, type CameraAlertSource } from './camera-alerts.ts';

/**
 * EVENTS `camera.*` and `people.*` → camera alerts in PostgreSQL `alerts` + `alert_timeline`, as
 * `vigil_worker`: the same rows, timeline, acknowledgement and resolution as equipment alerts.
 * `camera.offline` opens the camera_offline alert it names and `camera.online` resolves it;
 * `people.crowding_started` opens a zone's crowding alert and `people.crowding_ended` resolves
 * it (`camera-alerts.ts`). Other events carry no alert and are acked.
 *
 * Order does not matter and a redelivery changes nothing: each event is one timeline entry
 * (UNIQUE (alert_id, event_id)), the row is created by whichever of its events comes first, and
 * the resolution sticks once recorded — a resolving event that arrives before its opening one
 * leaves the alert resolved. A person's resolution stands (`resolved_by`). An alert whose
 * resolution was lost for good (its node died between the decision and the publish) is closed
 * as superseded when the next alert of the same camera, rule key and zone opens: one open
 * alert per (camera, rule key, zone). Events of a camera or zone deleted meanwhile are dropped:
 * their alerts were deleted with them.
 */

const iso = (ms: number): string => new Date(ms).toISOString();

async function applyOne(c: PoolClient, x: CameraAlertChange): Promise<void> {
  // A camera or zone deleted since took its alerts with it: nothing left to record.
  const { rows } = await c.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM cameras WHERE id = $1)
            AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM zones WHERE id = $2)) AS present`,
    [x.cameraId, x.zoneId],
  );
  if (!rows[0]?.present) return;
  if (x.opens)
    await c.query(
      `UPDATE alerts SET status = 'resolved', resolved_at = $5, updated_at = now(),
              message = message || ' (superseded: a newer alert of the same rule opened)'
        WHERE camera_id = $1 AND rule_key = $2 AND zone_id IS NOT DISTINCT FROM $3::uuid
          AND status <> 'resolved' AND id <> $4 AND opened_at <= $5`,
      [x.cameraId, x.ruleKey, x.zoneId, x.alertId, iso(x.openedAt)],
    );
  await c.query(
    `INSERT INTO alerts (id, tenant_id, site_id, camera_id, zone_id, rule_key, severity, status, message,
                         opened_at, resolved_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (id) DO NOTHING`,
    [
      x.alertId,
      x.tenantId,
      x.siteId,
      x.cameraId,
      x.zoneId,
      x.ruleKey,
      x.severity,
      x.opens ? 'active' : 'resolved',
      x.message,
      iso(x.openedAt),
      x.opens ? null : iso(x.at),
    ],
  );
  const recorded = await c.query(
    `INSERT INTO alert_timeline (tenant_id, alert_id, event_id, at, action, data)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (alert_id, event_id) DO NOTHING`,
    [x.tenantId, x.alertId, x.eventId, iso(x.at), x.opens ? 'opened' : 'resolved', JSON.stringify(x.data)],
  );
  if (recorded.rowCount !== 1) return;
  if (x.opens)
    await c.query(`UPDATE alerts SET message = $2, updated_at = now() WHERE id = $1`, [x.alertId, x.message]);
  else
    await c.query(
      `UPDATE alerts SET status = 'resolved', resolved_at = $2, updated_at = now()
        WHERE id = $1 AND status <> 'resolved' AND resolved_by IS NULL`,
      [x.alertId, iso(x.at)],
    );
}

/** Apply a batch of camera and people events in one transaction, oldest first. */
export async function applyCameraAlertEvents(
  pool: Pool,
  events: readonly CameraAlertSource[],
): Promise<void> {
  const changes = events
    .map(cameraAlertChange)
    .filter((x): x is CameraAlertChange => x !== null)
    .sort((a, b) => a.at - b.at);
  if (changes.length === 0) return;
  try {
    await withTransaction(pool, async (c) => {
      for (const x of changes) await applyOne(c, x);
    });
  } catch (err) {
    throw fromPgError(err, 'writing camera alerts');
  }
}

/** The events that may carry a camera alert. */
export const CAMERA_ALERT_KINDS: ReadonlySet<string> = new Set(['camera', 'people']);

export interface CameraAlertsDeps extends NodeDeps {
  /** `vigil_worker`. */
  worker: Pool;
}

export function cameraAlertsService(deps: CameraAlertsDeps): ServiceSchema {
  const { names } = deps;
  return sinkService(
    'camera-alerts',
    new ConsumerRunner<CameraAlertSource | null>({
      js: deps.js,
      jsm: deps.jsm,
      names,
      log: deps.log,
      name: 'camera_alerts_pg',
      stream: names.events.stream,
      durable: names.consumer('camera_alerts_pg'),
      // All of EVENTS, skipping other kinds unread (see ConsumerOptions.filterSubject); a
      // durable made with the former `camera` filter loses it in place.
      select: (subject) => CAMERA_ALERT_KINDS.has(names.events.kindOf(subject) ?? ''),
      dlqSource: 'events',
      mode: 'batch',
      decode: decodeCameraSideEvent,
      handle: async (batch) => {
        await applyCameraAlertEvents(
          deps.worker,
          batch.flatMap((d) => (d.value ? [d.value] : [])),
        );
      },
      batchSize: 100,
      lingerMs: 50,
      ackWaitMs: SINK_ACK_WAIT_MS,
    }),
  );
}
