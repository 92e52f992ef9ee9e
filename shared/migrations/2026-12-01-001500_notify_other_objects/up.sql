-- The other families' tables announce their changes on `clerk_sync` too, with the
-- function of 2026-12-01-001400_notify_changes (same payload, same rules).

CREATE TRIGGER organization_invitations_notify_insert AFTER INSERT ON organization_invitations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organization_invitations_notify_update AFTER UPDATE ON organization_invitations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organization_invitations_notify_delete AFTER DELETE ON organization_invitations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER organization_domains_notify_insert AFTER INSERT ON organization_domains
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organization_domains_notify_update AFTER UPDATE ON organization_domains
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER organization_domains_notify_delete AFTER DELETE ON organization_domains
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER roles_notify_insert AFTER INSERT ON roles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER roles_notify_update AFTER UPDATE ON roles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER roles_notify_delete AFTER DELETE ON roles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER permissions_notify_insert AFTER INSERT ON permissions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER permissions_notify_update AFTER UPDATE ON permissions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER permissions_notify_delete AFTER DELETE ON permissions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER waitlist_entries_notify_insert AFTER INSERT ON waitlist_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER waitlist_entries_notify_update AFTER UPDATE ON waitlist_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER waitlist_entries_notify_delete AFTER DELETE ON waitlist_entries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER billing_subscriptions_notify_insert AFTER INSERT ON billing_subscriptions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER billing_subscriptions_notify_update AFTER UPDATE ON billing_subscriptions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER billing_subscriptions_notify_delete AFTER DELETE ON billing_subscriptions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();

CREATE TRIGGER billing_subscription_items_notify_insert AFTER INSERT ON billing_subscription_items
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER billing_subscription_items_notify_update AFTER UPDATE ON billing_subscription_items
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER billing_subscription_items_notify_delete AFTER DELETE ON billing_subscription_items
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
