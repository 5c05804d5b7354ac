-- Notification channels (webhook first) and their delivery queue.
--
-- A channel routes a tenant's alert notifications: alerts at or above min_severity, of the
-- listed sites (NULL: every site). The webhook secret signs each body (HMAC-SHA256); it must
-- be readable to sign with, so it is stored as is, shown to people once, and rotated by the
-- API. Deliveries are an outbox: the notifier enqueues one row per (channel, cause) — a
-- redelivered event or a second sweep adds nothing — then sends due rows, retrying with
-- backoff until a limit, after which the row is dead (and said so in the alert's timeline).

CREATE TABLE notification_channels (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind          text NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook')),
  url           text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
  secret        text NOT NULL CHECK (length(secret) >= 32),
  min_severity  text NOT NULL DEFAULT 'warning' CHECK (min_severity IN ('info', 'warning', 'critical')),
  site_ids      uuid[],
  -- Repeat an unacknowledged alert this often; NULL: no reminders.
  remind_every_s integer CHECK (remind_every_s IS NULL OR remind_every_s BETWEEN 60 AND 604800),
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_channels_tenant_idx ON notification_channels (tenant_id, created_at DESC, id DESC);

CREATE TABLE notification_deliveries (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL,
  channel_id    uuid NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
  -- No foreign key: the notifier may see an alert's event before the alerts sink writes its row.
  alert_id      uuid NOT NULL,
  -- What caused it: an EVENTS id, `reminder:<alert>:<n>`, or a person's timeline entry.
  cause         text NOT NULL,
  kind          text NOT NULL,
  payload       jsonb NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts      integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error    text,
  response_status integer,
  delivered_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel_id, cause)
);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_alert_idx ON notification_deliveries (alert_id);

ALTER TABLE notification_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_channels
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

ALTER TABLE notification_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_deliveries
  USING (tenant_id = vigil_current_tenant()) WITH CHECK (tenant_id = vigil_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON notification_channels TO vigil_app;
GRANT SELECT ON notification_deliveries TO vigil_app;
GRANT SELECT ON notification_channels TO vigil_worker;
GRANT SELECT, INSERT, UPDATE ON notification_deliveries TO vigil_worker;
