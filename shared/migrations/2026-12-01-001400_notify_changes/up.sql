-- Every committed change to users, organizations and organization_memberships is
-- announced on the channel `clerk_sync`, with the JSON payload
-- {"table":"users","id":"user_…","op":"upsert"} (`op` is `delete` when the row
-- written is a tombstone, or when a row is removed).
--
-- NOTIFY inside a transaction is delivered only when it commits, so a listener that
-- hears of a row can read it. Triggers fire only for rows a statement really wrote:
-- an upsert whose ordering guard refused the write (a stale event) writes nothing and
-- announces nothing, and neither does a duplicate or an ignored event. One
-- notification per changed row (identical payloads in one transaction are folded by
-- Postgres). Statement-level triggers with transition tables: one call per statement,
-- whatever the number of rows, so a batch costs one trigger call per table written.

CREATE FUNCTION clerk_sync_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Compact JSON, keys in this order; to_json quotes the id.
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('clerk_sync',
            '{"table":"' || TG_TABLE_NAME || '","id":' || to_json(r.id)::text
            || ',"op":"delete"}')
        FROM old_rows r;
    ELSE
        PERFORM pg_notify('clerk_sync',
            '{"table":"' || TG_TABLE_NAME || '","id":' || to_json(r.id)::text
            || ',"op":"' || CASE WHEN r.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END
            || '"}')
        FROM new_rows r;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_notify_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER users_notify_update AFTER UPDATE ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER users_notify_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER organizations_notify_insert AFTER INSERT ON organizations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organizations_notify_update AFTER UPDATE ON organizations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organizations_notify_delete AFTER DELETE ON organizations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER organization_memberships_notify_insert AFTER INSERT ON organization_memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organization_memberships_notify_update AFTER UPDATE ON organization_memberships
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organization_memberships_notify_delete AFTER DELETE ON organization_memberships
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
