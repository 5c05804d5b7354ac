import { randomBytes } from 'node:crypto';
import type { ApiNotificationChannel, Severity } from '../../schemas/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { byId } from './route-kit.ts';

export interface ChannelRow {
  id: string;
  name: string;
  url: string;
  min_severity: Severity;
  site_ids: string[] | null;
  remind_every_s: number | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  _k: string;
}

export const COLUMNS = `id, name, url, min_severity, site_ids, remind_every_s, enabled, created_at, updated_at,
  ${timeKey('created_at')} AS _k`;
export const getChannel = byId<ChannelRow>(
  'notification_channels',
  COLUMNS,
  'notification channel not found',
);

export function toApi(r: ChannelRow): ApiNotificationChannel {
  return {
    id: r.id,
    name: r.name,
    kind: 'webhook',
    url: r.url,
    minSeverity: r.min_severity,
    siteIds: r.site_ids,
    remindEveryS: r.remind_every_s,
    enabled: r.enabled,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** A fresh signing key: 256 bits, URL-safe. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** What the audit log keeps of a channel: never its secret. */
export const audited = (r: ChannelRow) => ({
  name: r.name,
  url: r.url,
  minSeverity: r.min_severity,
  siteIds: r.site_ids,
  remindEveryS: r.remind_every_s,
  enabled: r.enabled,
});

/** `/v1/notification-channels`: tenant admins manage where alert notifications go. */
