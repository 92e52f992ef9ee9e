DROP TABLE billing_subscription_items;
DROP TABLE billing_subscriptions;
DROP TABLE waitlist_entries;
DROP TABLE permissions;
DROP TABLE roles;
DROP TABLE organization_domains;
DROP TABLE organization_invitations;
