-- API tokens of any messaging platform, one row per channel, replacing the
-- Zalo-only table: the store keeps what a channel asks it to, without
-- knowing the channel. Existing Zalo tokens are carried over.
CREATE TABLE platform_tokens (
    channel TEXT PRIMARY KEY,
    refresh_token TEXT NOT NULL,
    access_token TEXT,
    updated_at INTEGER NOT NULL
);
INSERT INTO platform_tokens (channel, refresh_token, access_token, updated_at)
    SELECT 'zalo', refresh_token, access_token, updated_at FROM zalo_tokens;
DROP TABLE zalo_tokens;
