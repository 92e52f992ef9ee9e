-- Clerk users, organizations and memberships as last applied, plus the record of
-- every webhook event seen. `clerk_updated_at` is the Clerk version a row reflects:
-- a write lands only when it is not older. A row with `deleted_at` set is a
-- tombstone: it keeps late creates and updates from bringing the object back.

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    email            TEXT,
    first_name       TEXT,
    last_name        TEXT,
    username         TEXT,
    image_url        TEXT,
    external_id      TEXT,
    public_metadata  JSONB,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX users_email_idx ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_external_id_idx ON users (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE organizations (
    id               TEXT PRIMARY KEY,
    name             TEXT,
    slug             TEXT,
    image_url        TEXT,
    created_by       TEXT,
    public_metadata  JSONB,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX organizations_slug_idx ON organizations (slug) WHERE deleted_at IS NULL;

-- No foreign keys to users or organizations: events arrive in any order, and a
-- membership may well be applied before its user or organization.
CREATE TABLE organization_memberships (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    user_id          TEXT,
    role             TEXT,
    public_metadata  JSONB,
    data             JSONB,
    clerk_created_at TIMESTAMPTZ,
    clerk_updated_at TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX organization_memberships_organization_id_idx ON organization_memberships (organization_id);
CREATE INDEX organization_memberships_user_id_idx ON organization_memberships (user_id);

CREATE TABLE webhook_events (
    svix_id          TEXT PRIMARY KEY,
    event_type       TEXT NOT NULL,
    object_id        TEXT,
    -- The Clerk user this event carries personal data about, so that erasure can
    -- find every stored payload of theirs.
    subject_user_id  TEXT,
    occurred_at      TIMESTAMPTZ,
    received_at      TIMESTAMPTZ,
    processed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    outcome          TEXT NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored')),
    attempts         INTEGER NOT NULL DEFAULT 1,
    payload          JSONB
);
CREATE INDEX webhook_events_processed_at_idx ON webhook_events (processed_at);
CREATE INDEX webhook_events_subject_user_id_idx ON webhook_events (subject_user_id) WHERE subject_user_id IS NOT NULL;
