import type { FastifyRequest } from 'fastify';
import type { AlertActionEvent } from '../../schemas/mod.ts';
import { publishEvent } from '../../streams/mod.ts';
import { principalOf } from '../identity/mod.ts';
import type { AlertRow, TimelineEntry } from './alerts.repo.ts';
import type { AdminDeps } from './context.ts';

/** The event type of a timeline action (an acknowledgement for anything else). */
const EVENT_OF_ACTION: Partial<Record<string, AlertActionEvent['type']>> = {
  acknowledged: 'alert.acknowledged',
  resolved: 'alert.closed',
  snoozed: 'alert.snoozed',
};

/**
 * The event that announces one person's action on an alert: `row` is the alert as the action
 * left it, `entry` the timeline entry that records the action (whose event id and instant the
 * event takes, so the event, the entry and the notification it causes are one fact).
 */
export function alertActionEvent(tenantId: string, row: AlertRow, entry: TimelineEntry): AlertActionEvent {
  const snoozed = entry.action === 'snoozed';
  return {
    id: entry.eventId,
    type: EVENT_OF_ACTION[entry.action] ?? 'alert.acknowledged',
    tenantId,
    siteId: row.site_id,
    ts: entry.at.getTime(),
    data: {
      alertId: row.id,
      ...(row.equipment_id === null ? {} : { equipmentId: row.equipment_id }),
      ...(row.camera_id === null ? {} : { cameraId: row.camera_id }),
      ...(row.zone_id === null ? {} : { zoneId: row.zone_id }),
      ruleKey: row.rule_key,
      severity: row.severity,
      message: row.message,
      openedAt: row.opened_at.getTime(),
      suppressed: row.suppressed,
      status: snoozed ? row.status : row.status === 'resolved' ? 'resolved' : 'acknowledged',
      ...(snoozed && row.snoozed_until ? { snoozedUntil: row.snoozed_until.getTime() } : {}),
      by: entry.by,
      note: entry.note,
      timelineId: entry.id,
    },
  };
}

/**
 * Publish a committed action's events to EVENTS, in order: every dashboard of the tenant (and
 * site) sees it live, and the notifier sends it. A lost publish is logged, not answered: the
 * change is committed, dashboards read it on their next load, and the notifier's sweep of the
 * timeline sends the notification under the same cause.
 */
export async function publishAlertActions(
  deps: AdminDeps,
  request: FastifyRequest,
  row: AlertRow,
  entries: readonly TimelineEntry[],
): Promise<void> {
  const tenantId = principalOf(request).tenantId;
  for (const entry of entries) {
    const event = alertActionEvent(tenantId, row, entry);
    try {
      await publishEvent(deps.js, deps.names, event);
    } catch (err) {
      request.log.warn(
        { err, alertId: row.id, eventId: event.id, type: event.type },
        'alert action not published',
      );
      return;
    }
  }
}
