-- The staff's decisions on the survey period: closed early, or reopened
-- until a new end. The period in force is the campaign file's, with these
-- applied in order; every instance reads it from here. Append-only: a
-- decision is corrected by a newer one, never rewritten. `by` is
-- "dòng lệnh" (the server's command line) or a staff member's keyed hash.
CREATE TABLE period_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign TEXT NOT NULL,
    at INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('close', 'reopen')),
    until INTEGER,
    by_whom TEXT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TRIGGER period_changes_no_update BEFORE UPDATE ON period_changes
BEGIN
    SELECT RAISE(ABORT, 'period changes are append-only: UPDATE is refused');
END;

CREATE TRIGGER period_changes_no_delete BEFORE DELETE ON period_changes
BEGIN
    SELECT RAISE(ABORT, 'period changes are append-only: DELETE is refused');
END;
