-- Staff (cán bộ phụ trách) who run the campaign from a chat. Each is added
-- on the server with a one-time staff token (`khaosat staff add`) and
-- enrolled by sending it on Telegram, Zalo or the web chat. The token and
-- the account are kept as keyed hashes only; `name` is what the operator
-- typed to tell staff apart (it never reaches a report).
CREATE TABLE staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    account TEXT UNIQUE,
    channel TEXT,
    enrolled_at INTEGER,
    removed_at INTEGER
);
