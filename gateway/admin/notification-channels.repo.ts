import { randomBytes } from 'node:crypto';
import type {
  ApiNotificationChannel,
  NotificationChannelCreateBody,
  NotificationChannelUpdateBody,
  PoolClient,
  Severity,
} from '../../schemas/mod.ts';
import { iso } from './context.ts';
import { timeKey } from './pagination.ts';
import { assertSitesVisible } from './sites.repo.ts';
import { Table } from './table.ts';

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
export const CHANNELS = new Table<ChannelRow>(
  'notification_channels',
  COLUMNS,
  'notification channel not found',
);
export const getChannel = CHANNELS.get;

/** API field → column, for partial updates. */
export const CHANNEL_FIELDS = {
  name: 'name',
  url: 'url',
  minSeverity: 'min_severity',
  siteIds: 'site_ids',
  remindEveryS: 'remind_every_s',
  enabled: 'enabled',
};

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

/** A new channel with its signing secret, which leaves the database only in this answer. */
export async function insertChannel(
  c: PoolClient,
  body: NotificationChannelCreateBody,
): Promise<ChannelRow & { secret: string }> {
  if (body.siteIds) await assertSitesVisible(c, body.siteIds);
  const secret = newSecret();
  const { rows } = await c.query<ChannelRow>(
    `INSERT INTO notification_channels (tenant_id, name, url, secret, min_severity, site_ids, remind_every_s, enabled)
     VALUES (vigil_current_tenant(), $1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [
      body.name,
      body.url,
      secret,
      body.minSeverity ?? 'warning',
      body.siteIds ?? null,
      body.remindEveryS ?? null,
      body.enabled ?? true,
    ],
  );
  return { ...rows[0]!, secret };
}

/** A channel's new sites must be ones the caller can see. */
export async function assertChannelSites(
  c: PoolClient,
  _before: ChannelRow,
  body: NotificationChannelUpdateBody,
): Promise<void> {
  if (body.siteIds) await assertSitesVisible(c, body.siteIds);
}
