-- Platform events acknowledged and not yet handled (the Zalo webhook):
-- written — in a batch of the write path — before the platform hears
-- "200", so the acknowledgement waits for one small commit instead of the
-- whole step; the step runs behind it, in order per chat, and deletes the
-- row once done. The event (user id and text) is sealed under the
-- service's key; `chat` is the sender's keyed hash. `owner` and
-- `lease_until` as in `outbox`: another instance takes over what a dead
-- one left.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    chat TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL
);
CREATE INDEX inbox_by_chat ON inbox (channel, chat, id);
CREATE INDEX inbox_by_lease ON inbox (channel, lease_until);
