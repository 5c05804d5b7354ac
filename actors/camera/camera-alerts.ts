import type { CameraEvent, PeopleEvent, Severity } from '../../schemas/mod.ts';
import { CAMERA_OFFLINE_RULE } from './camera-status.decider.ts';
import { CROWDING_RULE } from './people-events.ts';
import { DEFAULT_CROWDING_SEVERITY } from './zones.ts';

/**
 * What a camera's event means for its alerts, pure: the events that open or resolve a camera
 * alert — `camera.offline` / `camera.online` (rule `camera_offline`), `people.crowding_started`
 * / `people.crowding_ended` (rule `crowding`, per zone) — as the one shape the alert writer and
 * the notifier read. Every other event changes no alert (null).
 */
export interface CameraAlertChange {
  /** The event's id: one timeline entry and one notification per event. */
  eventId: string;
  /** Opens (or re-states) the alert; false: resolves it. */
  opens: boolean;
  /** Event time, epoch ms. */
  at: number;
  alertId: string;
  openedAt: number;
  tenantId: string;
  siteId: string;
  cameraId: string;
  /** The zone a crowding alert is about; null for the camera's own alerts. */
  zoneId: string | null;
  ruleKey: string;
  severity: Severity;
  /** What the alert says (the opening event's words). */
  message: string;
  data: Record<string, unknown>;
}

/** Camera health alerts page someone: a camera that stopped streaming watches nothing. */
export const CAMERA_OFFLINE_SEVERITY: Severity = 'critical';

export type CameraAlertSource = CameraEvent | PeopleEvent;

export function cameraAlertChange(e: CameraAlertSource): CameraAlertChange | null {
  const alert = e.data.alert;
  if (!alert) return null;
  const base = {
    eventId: e.id,
    at: e.ts,
    alertId: alert.alertId,
    openedAt: alert.openedAt,
    tenantId: e.tenantId,
    siteId: e.siteId,
    cameraId: e.data.cameraId,
    data: e.data as Record<string, unknown>,
  };
  switch (e.type) {
    case 'camera.offline':
    case 'camera.online':
      return {
        ...base,
        opens: e.type === 'camera.offline',
        zoneId: null,
        ruleKey: CAMERA_OFFLINE_RULE,
        severity: CAMERA_OFFLINE_SEVERITY,
        message: `camera offline: ${e.data.reason ?? 'stream lost'}`,
      };
    case 'people.crowding_started':
    case 'people.crowding_ended': {
      const held = e.data.since === null ? null : Math.max(0, e.ts - e.data.since) / 1000;
      return {
        ...base,
        opens: e.type === 'people.crowding_started',
        zoneId: e.data.zoneId,
        ruleKey: CROWDING_RULE,
        severity: e.data.severity ?? DEFAULT_CROWDING_SEVERITY,
        message:
          `crowding: ${e.data.count ?? '?'} people in the zone` + (held === null ? '' : ` for ${held} s`),
      };
    }
    default:
      return null;
  }
}
