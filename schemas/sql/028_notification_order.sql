-- An outbox row's place in line. Rows enqueued by one insert share their transaction's
-- created_at (and due time), and the notifier's consumer inserts a whole batch of events at
-- once: under load an alert's opening and the resolve that followed it land together. The
-- identity is taken in the order the rows are inserted, so "due, then seq" sends an alert's
-- notices in the order they happened.
ALTER TABLE notification_deliveries ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
DROP INDEX notification_deliveries_due_idx;
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at, seq)
  WHERE status = 'pending';
