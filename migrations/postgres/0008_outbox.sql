-- Replies not yet delivered. A conversation step writes its replies here in
-- its own transaction; the channel's sender delivers them in order per chat
-- and deletes each once delivered, so a crash between the step and the
-- sending loses nothing. The recipient and the replies are sealed under the
-- service's key (like a session in progress); `chat` is the recipient's
-- keyed hash, `inbound` the keyed id of the message that caused the step.
-- `owner` and `lease_until` say which instance is sending a row: another
-- one takes it over once the lease has run out.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    chat TEXT NOT NULL,
    inbound TEXT,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    owner TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);
CREATE INDEX outbox_by_chat ON outbox (channel, chat, inbound);
CREATE INDEX outbox_by_lease ON outbox (channel, lease_until);
