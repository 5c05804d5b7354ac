import { Type } from '@sinclair/typebox';
import {
  ApiNotificationChannel,
  ApiNotificationChannelWithSecret,
  IdParams,
  NotificationChannelCreateBody,
  NotificationChannelListQuery,
  NotificationChannelUpdateBody,
} from '../../schemas/mod.ts';
import { audit, inTenant } from './context.ts';
import { guards, readOne, readPage, resource, updateById } from './route-kit.ts';
import { assertSitesVisible } from './sites.repo.ts';
import {
  type ChannelRow,
  COLUMNS,
  getChannel,
  toApi,
  newSecret,
  audited,
} from './notification-channels.repo.ts';

export const notificationChannelRoutes = resource('notification-channels', async (app, { deps }) => {
  const { admin } = guards(app);

  readPage(
    app,
    deps,
    '/notification-channels',
    {
      guard: admin,
      summary: "List the tenant's notification channels",
      querystring: NotificationChannelListQuery,
      response: ApiNotificationChannel,
      column: 'created_at',
      select: `SELECT ${COLUMNS} FROM notification_channels`,
    },
    toApi,
  );

  const one = {
    guard: admin,
    summary: 'One notification channel (without its secret)',
    response: ApiNotificationChannel,
  };
  readOne(app, deps, '/notification-channels/:id', one, getChannel, toApi);

  app.post(
    '/notification-channels',
    {
      ...admin,
      schema: {
        summary: 'Create a webhook channel; the answer shows its signing secret, once',
        description:
          'Alerts of the tenant at or above minSeverity, of siteIds (all when null), are posted as ' +
          'JSON signed with the secret: header Vigil-Signature `t=<unix s>,v1=<hex HMAC-SHA256 of ' +
          '"<t>.<body>">`. Sent on open, severity change, clear, resolve and acknowledgement, and ' +
          'every remindEveryS while nobody acknowledged the alert. Failed posts are retried with ' +
          "backoff; each outcome is in the alert's timeline.",
        body: NotificationChannelCreateBody,
        response: { 201: ApiNotificationChannelWithSecret },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const secret = newSecret();
      const row = await inTenant(deps, request, async (c) => {
        if (body.siteIds) await assertSitesVisible(c, body.siteIds);
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
        const channel = rows[0]!;
        await audit(c, request, {
          action: 'notification_channel.create',
          targetType: 'notification_channel',
          targetId: channel.id,
          after: audited(channel),
        });
        return channel;
      });
      return reply.code(201).send({ ...toApi(row), secret });
    },
  );

  app.patch(
    '/notification-channels/:id',
    {
      ...admin,
      schema: {
        summary: 'Change a channel',
        params: IdParams,
        body: NotificationChannelUpdateBody,
        response: { 200: ApiNotificationChannel },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const row = await inTenant(deps, request, async (c) => {
        const before = await getChannel(c, id, true);
        if (body.siteIds) await assertSitesVisible(c, body.siteIds);
        const after = await updateById<ChannelRow>(
          c,
          'notification_channels',
          id,
          body,
          {
            name: 'name',
            url: 'url',
            minSeverity: 'min_severity',
            siteIds: 'site_ids',
            remindEveryS: 'remind_every_s',
            enabled: 'enabled',
          },
          COLUMNS,
        );
        await audit(c, request, {
          action: 'notification_channel.update',
          targetType: 'notification_channel',
          targetId: id,
          before: audited(before),
          after: audited(after),
        });
        return after;
      });
      return toApi(row);
    },
  );

  app.post(
    '/notification-channels/:id/rotate-secret',
    {
      ...admin,
      schema: {
        summary: 'Replace the signing secret; the answer shows the new one, once',
        params: IdParams,
        response: { 200: ApiNotificationChannelWithSecret },
      },
    },
    async (request) => {
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
  );

  app.delete(
    '/notification-channels/:id',
    {
      ...admin,
      schema: {
        summary: 'Delete a channel (its pending deliveries go with it)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await inTenant(deps, request, async (c) => {
        const before = await getChannel(c, id, true);
        await c.query('DELETE FROM notification_channels WHERE id = $1', [id]);
        await audit(c, request, {
          action: 'notification_channel.delete',
          targetType: 'notification_channel',
          targetId: id,
          before: audited(before),
        });
      });
      return reply.code(204).send(null);
    },
  );
});
