-- The ballot box. A respondent's step spends the credential and drops the
-- sealed ballot into `ballot_box`; the mixer appends the ballots of a batch
-- to the chain in random order, in its own transaction, so nothing links a
-- ballot to the step (or the credential) it came from. Ballots of format 2:
-- a random receipt, the batch instead of a date, a commitment to the
-- answers. Ballots stored by earlier versions stay, untouched, in
-- ballots_v1 (still append-only); they are not part of the new chain.
ALTER TABLE ballots RENAME TO ballots_v1;

CREATE TABLE ballots (
    seq INTEGER PRIMARY KEY,
    campaign TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    dialogue_id TEXT NOT NULL,
    dialogue_version TEXT NOT NULL,
    batch INTEGER NOT NULL,
    batch_date TEXT NOT NULL,
    receipt TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    answers TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX chain_by_cell ON ballots (campaign, unit_id, group_id);

CREATE TRIGGER chain_no_update BEFORE UPDATE ON ballots
BEGIN
    SELECT RAISE(ABORT, 'ballots are append-only: UPDATE is refused');
END;

CREATE TRIGGER chain_no_delete BEFORE DELETE ON ballots
BEGIN
    SELECT RAISE(ABORT, 'ballots are append-only: DELETE is refused');
END;

-- Only the next link of the chain may be inserted: this refuses an insert
-- out of sequence and INSERT OR REPLACE of an existing ballot (which would
-- otherwise delete it without firing the DELETE trigger).
CREATE TRIGGER chain_in_order BEFORE INSERT ON ballots
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM ballots)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM ballots ORDER BY seq DESC LIMIT 1), '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'ballots are append-only: a ballot must follow the chain head');
END;

-- Sealed ballots waiting for the mixer: no time, no order (WITHOUT ROWID:
-- kept in the order of a random tag). The cell is in clear for quotas and
-- progress; the content is sealed under the service's key.
CREATE TABLE ballot_box (
    receipt_tag TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    sealed TEXT NOT NULL
) WITHOUT ROWID;

-- The mixer's state: batches so far, and when the current window began.
CREATE TABLE mixer (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batches INTEGER NOT NULL,
    window_start INTEGER NOT NULL
);

-- Conversations purged after a long idle time, so a returning respondent
-- is told why (by keyed respondent hash; forgotten after the note).
CREATE TABLE expired_sessions (
    respondent TEXT PRIMARY KEY,
    expired_at INTEGER NOT NULL
) WITHOUT ROWID;
