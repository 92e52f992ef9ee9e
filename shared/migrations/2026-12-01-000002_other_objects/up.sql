-- The other objects Clerk sends (DESIGN.md §5): organization invitations and
-- domains, roles and permissions, waitlist entries, billing subscriptions and their
-- items. Every table has the same shape as the first three: `id`, its named
-- columns, `data` (the Clerk object as last applied), and the four time columns.
-- `clerk_updated_at` is the version a row reflects; a row with `deleted_at` set is a
-- tombstone. No foreign keys: events arrive in any order.

CREATE TABLE organization_invitations (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT,
    email_address    TEXT,
    role             TEXT,
    status           TEXT,
    -- Without `url`: it holds the accept token.
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX organization_invitations_organization_id_idx ON organization_invitations (organization_id);
CREATE INDEX organization_invitations_email_idx ON organization_invitations (lower(email_address))
    WHERE email_address IS NOT NULL;

-- `organization_id` is NULL only on the tombstone of a domain never seen alive:
-- `organizationDomain.deleted` carries no organization id.
CREATE TABLE organization_domains (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT,
    name             TEXT,
    enrollment_mode  TEXT,
    verified         BOOLEAN,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX organization_domains_organization_id_idx ON organization_domains (organization_id);
CREATE INDEX organization_domains_name_idx ON organization_domains (lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE roles (
    id               TEXT PRIMARY KEY,
    key              TEXT,
    name             TEXT,
    description      TEXT,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX roles_key_idx ON roles (key) WHERE deleted_at IS NULL;

CREATE TABLE permissions (
    id               TEXT PRIMARY KEY,
    key              TEXT,
    name             TEXT,
    description      TEXT,
    type             TEXT,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX permissions_key_idx ON permissions (key) WHERE deleted_at IS NULL;

CREATE TABLE waitlist_entries (
    id               TEXT PRIMARY KEY,
    email_address    TEXT,
    status           TEXT,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX waitlist_entries_email_idx ON waitlist_entries (lower(email_address))
    WHERE email_address IS NOT NULL;

CREATE TABLE billing_subscriptions (
    id                    TEXT PRIMARY KEY,
    status                TEXT,
    payer_user_id         TEXT,
    payer_organization_id TEXT,
    data                  JSONB,
    clerk_created_at      TIMESTAMPTZ,
    clerk_updated_at      TIMESTAMPTZ NOT NULL,
    deleted_at            TIMESTAMPTZ,
    synced_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX billing_subscriptions_payer_user_id_idx ON billing_subscriptions (payer_user_id)
    WHERE payer_user_id IS NOT NULL;
CREATE INDEX billing_subscriptions_payer_organization_id_idx ON billing_subscriptions (payer_organization_id)
    WHERE payer_organization_id IS NOT NULL;

CREATE TABLE billing_subscription_items (
    id                    TEXT PRIMARY KEY,
    subscription_id       TEXT,
    plan_id               TEXT,
    status                TEXT,
    payer_user_id         TEXT,
    payer_organization_id TEXT,
    data                  JSONB,
    clerk_created_at      TIMESTAMPTZ,
    clerk_updated_at      TIMESTAMPTZ NOT NULL,
    deleted_at            TIMESTAMPTZ,
    synced_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX billing_subscription_items_subscription_id_idx ON billing_subscription_items (subscription_id);
CREATE INDEX billing_subscription_items_payer_user_id_idx ON billing_subscription_items (payer_user_id)
    WHERE payer_user_id IS NOT NULL;
CREATE INDEX billing_subscription_items_payer_organization_id_idx ON billing_subscription_items (payer_organization_id)
    WHERE payer_organization_id IS NOT NULL;
