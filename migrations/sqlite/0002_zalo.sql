-- The Zalo OA tokens. The refresh token is single-use and replaced on every
-- refresh: the new one is stored here before the new access token is used.
CREATE TABLE zalo_tokens (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    refresh_token TEXT NOT NULL,
    access_token TEXT,
    updated_at INTEGER NOT NULL
);

-- Replies that could not be delivered (e.g. Zalo's 7-day interaction window
-- closed), by keyed respondent hash; not retried.
CREATE TABLE undeliverable (
    channel TEXT NOT NULL,
    respondent TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);
