-- What a deleted user was known by, so that erasure does not depend on the order
-- events arrive in: an invitation or a waitlist entry naming one of these addresses,
-- or a payload naming it, that arrives after the delete is erased as it lands.
-- Only digests are kept (sha256 of the normalised value: an email trimmed and
-- lower-cased, a phone number as Clerk gives it, trimmed), never the value itself.
CREATE TABLE erased_identifiers (
    kind TEXT NOT NULL CHECK (kind IN ('email', 'phone')),
    digest BYTEA NOT NULL,
    user_id TEXT NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, digest)
);
CREATE INDEX erased_identifiers_user_id_idx ON erased_identifiers (user_id);

-- The digests (as above) of every email address and phone number a stored payload
-- names, so that erasing a user finds payloads that name them by address only.
ALTER TABLE webhook_events ADD COLUMN subject_digests BYTEA[];
CREATE INDEX webhook_events_subject_digests_idx ON webhook_events
    USING gin (subject_digests) WHERE payload IS NOT NULL;
