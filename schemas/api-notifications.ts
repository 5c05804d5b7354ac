import { Type, type Static } from '@sinclair/typebox';
import { Severity } from './events.ts';
import { PageQuery, Timestamp, Uuid } from './http.ts';

/**
 * Notification channels (`/v1/notification-channels`): where a tenant's alert notifications
 * go. Webhook first: each body is signed with the channel's secret (header `Vigil-Signature:
 * t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), retried with backoff, and recorded in the
 * alert's timeline. The secret is shown once, at creation and on rotation.
 */

const ChannelName = Type.String({ minLength: 1, maxLength: 200, examples: ['On-call webhook'] });
const WebhookUrl = Type.String({
  format: 'uri',
  pattern: '^https?://',
  maxLength: 2000,
  examples: ['https://hooks.example.com/vigil'],
});
const ChannelSites = Type.Union(
  [Type.Array(Uuid, { minItems: 1, maxItems: 500, uniqueItems: true }), Type.Null()],
  {
    description: 'only alerts of these sites; null = every site',
  },
);
const RemindEvery = Type.Union([Type.Integer({ minimum: 60, maximum: 604_800 }), Type.Null()], {
  description: 'repeat an alert nobody acknowledged this often (seconds); null = never',
});

export const ApiNotificationChannel = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    kind: Type.Literal('webhook'),
    url: Type.String(),
    minSeverity: Severity,
    siteIds: Type.Union([Type.Array(Uuid), Type.Null()]),
    remindEveryS: Type.Union([Type.Integer(), Type.Null()]),
    enabled: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'ApiNotificationChannel' },
);
export type ApiNotificationChannel = Static<typeof ApiNotificationChannel>;

/** Creation and rotation answer with the secret, once. */
export const ApiNotificationChannelWithSecret = Type.Intersect([
  ApiNotificationChannel,
  Type.Object({ secret: Type.String({ description: 'HMAC-SHA256 key; shown only now' }) }),
]);
export type ApiNotificationChannelWithSecret = Static<typeof ApiNotificationChannelWithSecret>;

export const NotificationChannelCreateBody = Type.Object(
  {
    name: ChannelName,
    kind: Type.Optional(Type.Literal('webhook')),
    url: WebhookUrl,
    minSeverity: Type.Optional(Severity),
    siteIds: Type.Optional(ChannelSites),
    remindEveryS: Type.Optional(RemindEvery),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type NotificationChannelCreateBody = Static<typeof NotificationChannelCreateBody>;

export const NotificationChannelUpdateBody = Type.Object(
  {
    name: Type.Optional(ChannelName),
    url: Type.Optional(WebhookUrl),
    minSeverity: Type.Optional(Severity),
    siteIds: Type.Optional(ChannelSites),
    remindEveryS: Type.Optional(RemindEvery),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type NotificationChannelUpdateBody = Static<typeof NotificationChannelUpdateBody>;

export const NotificationChannelListQuery = Type.Object(
  { ...PageQuery.properties },
  { additionalProperties: false },
);
export type NotificationChannelListQuery = Static<typeof NotificationChannelListQuery>;
