-- A recorded questionnaire version is what its ballots were answered on:
-- it may be added, never changed or removed (each is also checked against
-- its version hash when it is read back).
CREATE TRIGGER dialogue_versions_no_update BEFORE UPDATE ON dialogue_versions
BEGIN
    SELECT RAISE(ABORT, 'dialogue versions are append-only: UPDATE is refused');
END;

CREATE TRIGGER dialogue_versions_no_delete BEFORE DELETE ON dialogue_versions
BEGIN
    SELECT RAISE(ABORT, 'dialogue versions are append-only: DELETE is refused');
END;
