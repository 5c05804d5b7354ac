import {
  ApiNotificationChannel,
  ApiNotificationChannelWithSecret,
  NotificationChannelCreateBody,
  NotificationChannelListQuery,
  NotificationChannelUpdateBody,
} from '../../schemas/mod.ts';
import { audit, inTenant } from './context.ts';
import { crud, resource, route } from './route-kit.ts';
import {
  type ChannelRow,
  CHANNELS,
  CHANNEL_FIELDS,
  COLUMNS,
  assertChannelSites,
  audited,
  getChannel,
  insertChannel,
  newSecret,
  toApi,
} from './notification-channels.repo.ts';

export const notificationChannelRoutes = resource('notification-channels', async (app, { deps }) => {
  crud(app, deps, {
    path: '/notification-channels',
    table: CHANNELS,
    item: ApiNotificationChannel,
    show: toApi,
    audit: { type: 'notification_channel', before: audited, after: audited },
    list: {
      guard: 'tenant_admin',
      summary: "List the tenant's notification channels",
      querystring: NotificationChannelListQuery,
      column: 'created_at',
    },
    get: { guard: 'tenant_admin', summary: 'One notification channel (without its secret)' },
    create: {
      guard: 'tenant_admin',
      summary: 'Create a webhook channel; the answer shows its signing secret, once',
      description:
        'Alerts of the tenant at or above minSeverity, of siteIds (all when null), are posted as ' +
        'JSON signed with the secret: header Vigil-Signature `t=<unix s>,v1=<hex HMAC-SHA256 of ' +
        '"<t>.<body>">`. Sent on open, severity change, clear, resolve and acknowledgement, and ' +
        'every remindEveryS while nobody acknowledged the alert. Failed posts are retried with ' +
        "backoff; each outcome is in the alert's timeline.",
      body: NotificationChannelCreateBody,
      response: ApiNotificationChannelWithSecret,
      insert: insertChannel,
      reply: (created) => ({ ...toApi(created), secret: created.secret }),
    },
    update: {
      guard: 'tenant_admin',
      summary: 'Change a channel',
      body: NotificationChannelUpdateBody,
      check: assertChannelSites,
      columns: CHANNEL_FIELDS,
    },
    remove: { guard: 'tenant_admin', summary: 'Delete a channel (its pending deliveries go with it)' },
  });

  route(app, 'POST', '/notification-channels/:id/rotate-secret', 'tenant_admin', {
    summary: 'Replace the signing secret; the answer shows the new one, once',
    response: ApiNotificationChannelWithSecret,
    handler: async (request) => {
      const { id } = request.params;
      const secret = newSecret();
      const row = await inTenant(deps, request, async (c) => {
        await getChannel(c, id, true);
        const { rows } = await c.query<ChannelRow>(
          `UPDATE notification_channels SET secret = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, secret],
        );
        await audit(c, request, {
          action: 'notification_channel.rotate_secret',
          targetType: 'notification_channel',
          targetId: id,
        });
        return rows[0]!;
      });
      return { ...toApi(row), secret };
    },
  });
});
