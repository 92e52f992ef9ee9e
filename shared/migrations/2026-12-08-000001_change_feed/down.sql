-- Loses the change feed (the synced objects stay). A reader's cursor means nothing
-- after this: resync from the tables. Stop the workers first: a session that has
-- written keeps a temporary trigger on clerk_sync_feed_seal(), and the DROP waits
-- for nothing but fails while it exists.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'organizations', 'organization_memberships',
        'organization_invitations', 'organization_domains', 'roles', 'permissions',
        'waitlist_entries', 'billing_subscriptions', 'billing_subscription_items',
        'billing_payment_attempts']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_feed_insert', t);
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_feed_update', t);
        EXECUTE format('DROP FUNCTION %I()', t || '_feed');
    END LOOP;
END;
$$;
DROP FUNCTION changes_head();
DROP FUNCTION changes_since(BIGINT, INTEGER);
DROP FUNCTION clerk_sync_feed_track(regclass, text);
DROP FUNCTION clerk_sync_feed_mark();
DROP FUNCTION clerk_sync_feed_staging();
DROP FUNCTION clerk_sync_feed_seal();
DROP TABLE change_relays;
DROP TABLE change_retention;
DROP TABLE change_sequence;
DROP TABLE changes;
