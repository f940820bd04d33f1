-- See migrations/sqlite/0007_dialogue_versions_append_only.sql.
CREATE FUNCTION dialogue_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dialogue versions are append-only: % is refused', TG_OP;
END
$$;
CREATE TRIGGER dialogue_versions_no_change BEFORE UPDATE OR DELETE ON dialogue_versions
    FOR EACH ROW EXECUTE FUNCTION dialogue_versions_append_only();
CREATE TRIGGER dialogue_versions_no_truncate BEFORE TRUNCATE ON dialogue_versions
    FOR EACH STATEMENT EXECUTE FUNCTION dialogue_versions_append_only();
