-- See migrations/sqlite/0010_period_changes.sql.
CREATE TABLE period_changes (
    id BIGSERIAL PRIMARY KEY,
    campaign TEXT NOT NULL,
    at BIGINT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('close', 'reopen')),
    until BIGINT,
    by_whom TEXT NOT NULL,
    reason TEXT NOT NULL
);

CREATE FUNCTION period_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'period changes are append-only: % is refused', TG_OP;
END
$$;
CREATE TRIGGER period_changes_no_change BEFORE UPDATE OR DELETE ON period_changes
    FOR EACH ROW EXECUTE FUNCTION period_changes_append_only();
CREATE TRIGGER period_changes_no_truncate BEFORE TRUNCATE ON period_changes
    FOR EACH STATEMENT EXECUTE FUNCTION period_changes_append_only();
