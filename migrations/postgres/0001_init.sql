-- khaosat schema (PostgreSQL). Mirrors migrations/sqlite/; see the comments there.

CREATE TABLE instance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);

CREATE TABLE dialogue_versions (
    dialogue_id TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (dialogue_id, version)
);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    group_id TEXT NOT NULL,
    units TEXT NOT NULL,
    expires_at BIGINT,
    batch TEXT NOT NULL
);

CREATE TABLE spends (
    credential TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    PRIMARY KEY (credential, unit_id)
);

CREATE TABLE ballots (
    seq BIGINT PRIMARY KEY,
    campaign TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    dialogue_id TEXT NOT NULL,
    dialogue_version TEXT NOT NULL,
    submitted_on TEXT NOT NULL,
    answers TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    receipt TEXT NOT NULL UNIQUE
);
CREATE INDEX ballots_by_quota ON ballots (campaign, unit_id, group_id);

CREATE FUNCTION ballots_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ballots are append-only: % is refused', TG_OP;
END
$$;

CREATE TRIGGER ballots_no_change BEFORE UPDATE OR DELETE ON ballots
    FOR EACH ROW EXECUTE FUNCTION ballots_append_only();
CREATE TRIGGER ballots_no_truncate BEFORE TRUNCATE ON ballots
    FOR EACH STATEMENT EXECUTE FUNCTION ballots_append_only();

CREATE TABLE sessions (
    respondent TEXT PRIMARY KEY,
    credential TEXT NOT NULL,
    group_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE inbound (
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (channel, message_id)
);

CREATE TABLE token_failures (
    respondent TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);
