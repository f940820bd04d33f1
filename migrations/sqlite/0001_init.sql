-- khaosat schema (SQLite). Mirrored in migrations/postgres/.
--
-- Anonymity: `ballots` holds no column that identifies a respondent, a token
-- or a channel user, and no table links one to a ballot. `spends` records
-- that a credential was used for a unit, without a row order or a time
-- (WITHOUT ROWID: rows are kept in key order, not insertion order).

-- One row: the secret for keyed hashes of channel user ids.
CREATE TABLE instance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);

-- Every dialogue version ever used, so a session finishes on the version it
-- started with and reports can recompile the exact questionnaire.
CREATE TABLE dialogue_versions (
    dialogue_id TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (dialogue_id, version)
);

-- Issued tokens: only a hash. `units` is a space-separated list of unit ids.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    group_id TEXT NOT NULL,
    units TEXT NOT NULL,
    expires_at INTEGER,
    batch TEXT NOT NULL
);

-- A credential (token hash, or keyed hash of an open-access user) used for a unit.
CREATE TABLE spends (
    credential TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    PRIMARY KEY (credential, unit_id)
) WITHOUT ROWID;

-- The ballots: append-only, hash-chained.
CREATE TABLE ballots (
    seq INTEGER PRIMARY KEY,
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

CREATE TRIGGER ballots_no_update BEFORE UPDATE ON ballots
BEGIN
    SELECT RAISE(ABORT, 'ballots are append-only: UPDATE is refused');
END;

CREATE TRIGGER ballots_no_delete BEFORE DELETE ON ballots
BEGIN
    SELECT RAISE(ABORT, 'ballots are append-only: DELETE is refused');
END;

-- Conversations in progress, keyed by a keyed hash of (channel, user id).
-- Deleted when the conversation ends.
CREATE TABLE sessions (
    respondent TEXT PRIMARY KEY,
    credential TEXT NOT NULL,
    group_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Inbound message ids already processed, so a redelivery changes nothing.
CREATE TABLE inbound (
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (channel, message_id)
);

-- Failed token attempts per respondent, for the attempt limit.
CREATE TABLE token_failures (
    respondent TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures INTEGER NOT NULL
);
