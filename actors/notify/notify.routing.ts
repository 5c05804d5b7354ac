import type { AlertActionEvent, AlertEvent, Severity } from '../../schemas/mod.ts';
import type { CameraAlertChange } from '../camera/camera-alerts.ts';

/**
 * Which channel hears about what, and what it is sent: pure, so the rules read in one place
 * and are tested without a network. A channel takes the alerts of its tenant at or above its
 * minimum severity, of its sites (all when none are listed); alerts opened in a maintenance
 * window are held back (they are recorded, flagged suppressed, and nobody is paged).
 */

export interface Channel {
  id: string;
  tenantId: string;
  name: string;
  url: string;
  secret: string;
  minSeverity: Severity;
  siteIds: string[] | null;
  remindEveryS: number | null;
}

export type NotificationKind =
  'opened' | 'severity_changed' | 'updated' | 'cleared' | 'resolved' | 'acknowledged' | 'reminder';

const RANK: Record<Severity, number> = { info: 1, warning: 2, critical: 3 };

/**
 * The alert as a notification describes it (from an event, or from the alerts table). An alert
 * is about one unit or one camera (and then perhaps one of its zones): the other ids are null.
 */
export interface AlertSummary {
  alertId: string;
  tenantId: string;
  siteId: string;
  equipmentId: string | null;
  cameraId: string | null;
  zoneId: string | null;
  ruleKey: string;
  severity: Severity;
  previousSeverity?: Severity;
  message: string;
  openedAt: number;
  suppressed: boolean;
}

export function routes(
  channel: Channel,
  alert: Pick<AlertSummary, 'tenantId' | 'siteId' | 'severity' | 'suppressed'>,
): boolean {
  if (alert.tenantId !== channel.tenantId || alert.suppressed) return false;
  if (channel.siteIds && !channel.siteIds.includes(alert.siteId)) return false;
  return RANK[alert.severity] >= RANK[channel.minSeverity];
}

export function kindOf(e: AlertEvent): NotificationKind {
  switch (e.type) {
    case 'alert.opened':
      return 'opened';
    case 'alert.updated':
      return e.data.previousSeverity && e.data.previousSeverity !== e.data.severity
        ? 'severity_changed'
        : 'updated';
    case 'alert.cleared':
      return 'cleared';
    case 'alert.resolved':
      return 'resolved';
    default: {
      const never: never = e.type;
      return never;
    }
  }
}

export function summaryOf(e: AlertEvent): AlertSummary {
  const d = e.data;
  return {
    alertId: d.alertId,
    tenantId: e.tenantId,
    siteId: e.siteId,
    equipmentId: d.equipmentId,
    cameraId: null,
    zoneId: null,
    ruleKey: d.ruleKey,
    severity: d.severity,
    ...(d.previousSeverity ? { previousSeverity: d.previousSeverity } : {}),
    message: d.message,
    openedAt: d.openedAt,
    suppressed: d.suppressed,
  };
}

/** What one event asks to notify: a cause (unique per channel), what happened, to which alert, when. */
export interface Notice {
  cause: string;
  kind: NotificationKind;
  alert: AlertSummary;
  /** When the cause happened, epoch ms. */
  at: number;
  /** A person's action: who, and their note. */
  extra?: { by: string; note: string | null };
}

/** An actor's alert event as a notification. */
export function alertNotice(e: AlertEvent): Notice {
  return { cause: e.id, kind: kindOf(e), alert: summaryOf(e), at: e.ts };
}

/**
 * A person's action as a notification. Its cause is the one the notifier's sweep of the
 * timeline gives the same action (`timeline:<entry id>`), so whichever of the two reaches the
 * outbox first, the channel is sent the action once. A snooze is none: it pages nobody, it
 * holds the alert's reminders (which read `snoozed_until` themselves).
 */
export function actionNotice(
  e: AlertActionEvent,
): (Notice & { extra: { by: string; note: string | null } }) | null {
  if (e.type === 'alert.snoozed') return null;
  const d = e.data;
  return {
    cause: `timeline:${d.timelineId}`,
    at: e.ts,
    kind: e.type === 'alert.closed' ? 'resolved' : 'acknowledged',
    alert: {
      alertId: d.alertId,
      tenantId: e.tenantId,
      siteId: e.siteId,
      equipmentId: d.equipmentId ?? null,
      cameraId: d.cameraId ?? null,
      zoneId: d.zoneId ?? null,
      ruleKey: d.ruleKey,
      severity: d.severity,
      message: d.message,
      openedAt: d.openedAt,
      suppressed: d.suppressed,
    },
    extra: { by: d.by, note: d.note },
  };
}

/** A camera alert's event as a notification: its opening or its resolution. */
export function cameraNotice(x: CameraAlertChange): Notice {
  return {
    cause: x.eventId,
    at: x.at,
    kind: x.opens ? 'opened' : 'resolved',
    alert: {
      alertId: x.alertId,
      tenantId: x.tenantId,
      siteId: x.siteId,
      equipmentId: null,
      cameraId: x.cameraId,
      zoneId: x.zoneId,
      ruleKey: x.ruleKey,
      severity: x.severity,
      message: x.message,
      openedAt: x.openedAt,
      suppressed: false,
    },
  };
}

/**
 * The JSON body a webhook receives. `at` is when the cause happened (epoch ms). A camera alert
 * names its camera (and zone) where a unit's names its unit.
 */
export function webhookBody(
  kind: NotificationKind,
  alert: AlertSummary,
  at: number,
  extra: { by?: string | null; note?: string | null; reminder?: number } = {},
): Record<string, unknown> {
  return {
    kind,
    at: new Date(at).toISOString(),
    alert: {
      id: alert.alertId,
      tenantId: alert.tenantId,
      siteId: alert.siteId,
      equipmentId: alert.equipmentId,
      ...(alert.cameraId === null ? {} : { cameraId: alert.cameraId }),
      ...(alert.zoneId === null ? {} : { zoneId: alert.zoneId }),
      ruleKey: alert.ruleKey,
      severity: alert.severity,
      ...(alert.previousSeverity ? { previousSeverity: alert.previousSeverity } : {}),
      message: alert.message,
      openedAt: new Date(alert.openedAt).toISOString(),
    },
    ...extra,
  };
}

/** Wait before attempt `attempts + 1`: exponential from `baseMs`, capped at `maxMs`. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

/** How many reminders are due for an alert open since `openedAt` at `now` (0: none yet). */
export function reminderNumber(openedAt: number, now: number, everyS: number): number {
  return Math.max(0, Math.floor((now - openedAt) / (everyS * 1000)));
}
