-- One polite reminder to someone who stopped halfway: where to send it
-- (the channel user, sealed under the service's key like the session
-- itself; only for channels that can be written to first — Telegram,
-- Zalo) and when it was sent (once per conversation).
ALTER TABLE sessions ADD COLUMN reach TEXT;
ALTER TABLE sessions ADD COLUMN reminded_at INTEGER;
