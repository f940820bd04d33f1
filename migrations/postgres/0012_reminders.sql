-- See migrations/sqlite/0012_reminders.sql.
ALTER TABLE sessions ADD COLUMN reach TEXT;
ALTER TABLE sessions ADD COLUMN reminded_at BIGINT;
