-- See migrations/sqlite/0011_staff.sql.
CREATE TABLE staff (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    account TEXT UNIQUE,
    channel TEXT,
    enrolled_at BIGINT,
    removed_at BIGINT
);
