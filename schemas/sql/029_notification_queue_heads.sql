-- One alert's notifications to one channel go out one at a time, in order (seq): a notifier
-- claims a row only when no earlier row of the same channel and alert is still pending, so two
-- notifier nodes never send an alert's resolve while the other still holds its opening, and a
-- retried notice holds back the ones after it. This index answers "is there an earlier pending
-- row?" for each candidate.
CREATE INDEX notification_deliveries_queue_idx ON notification_deliveries (channel_id, alert_id, seq)
  WHERE status = 'pending';
