-- The ballot box; see migrations/sqlite/0006_ballot_box.sql.
ALTER TABLE ballots RENAME TO ballots_v1;
ALTER INDEX ballots_by_quota RENAME TO ballots_v1_by_quota;

CREATE TABLE ballots (
    seq BIGINT PRIMARY KEY,
    campaign TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    dialogue_id TEXT NOT NULL,
    dialogue_version TEXT NOT NULL,
    batch BIGINT NOT NULL,
    batch_date TEXT NOT NULL,
    receipt TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    answers TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX chain_by_cell ON ballots (campaign, unit_id, group_id);

CREATE TRIGGER chain_no_change BEFORE UPDATE OR DELETE ON ballots
    FOR EACH ROW EXECUTE FUNCTION ballots_append_only();
CREATE TRIGGER chain_no_truncate BEFORE TRUNCATE ON ballots
    FOR EACH STATEMENT EXECUTE FUNCTION ballots_append_only();

-- Only the next link of the chain may be inserted.
CREATE FUNCTION chain_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM ballots ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> COALESCE(head_seq, 0) + 1
       OR NEW.prev_hash <> COALESCE(head_hash, '0000000000000000000000000000000000000000000000000000000000000000') THEN
        RAISE EXCEPTION 'ballots are append-only: a ballot must follow the chain head';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER chain_in_order BEFORE INSERT ON ballots
    FOR EACH ROW EXECUTE FUNCTION chain_in_order();

CREATE TABLE ballot_box (
    receipt_tag TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    sealed TEXT NOT NULL
);

CREATE TABLE mixer (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batches BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);

CREATE TABLE expired_sessions (
    respondent TEXT PRIMARY KEY,
    expired_at BIGINT NOT NULL
);
