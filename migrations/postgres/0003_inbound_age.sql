-- Processed message ids are forgotten after a few days (`Survey::forget_old_message_ids`):
-- platforms redeliver within a day, and Telegram may reuse update ids after
-- a quiet week. This index keeps that deletion cheap.
CREATE INDEX inbound_by_age ON inbound (received_at);
