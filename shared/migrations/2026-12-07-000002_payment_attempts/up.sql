-- paymentAttempt.created / paymentAttempt.updated: one row per billing payment
-- attempt, versioned by data.updated_at like the other billing objects. `data` is the
-- attempt without its payment source (card brand, last four digits, expiry): see
-- worker/src/apply/credentials.rs. Amounts are in the currency's minor unit (cents).
CREATE TABLE billing_payment_attempts (
    id                    TEXT PRIMARY KEY,
    status                TEXT,
    payer_user_id         TEXT,
    payer_organization_id TEXT,
    amount                BIGINT,
    currency              TEXT,
    paid_at               TIMESTAMPTZ,
    failed_at             TIMESTAMPTZ,
    data                  JSONB,
    clerk_created_at      TIMESTAMPTZ,
    clerk_updated_at      TIMESTAMPTZ NOT NULL,
    deleted_at            TIMESTAMPTZ,
    synced_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX billing_payment_attempts_payer_user_id_idx ON billing_payment_attempts (payer_user_id)
    WHERE payer_user_id IS NOT NULL;
CREATE INDEX billing_payment_attempts_payer_organization_id_idx ON billing_payment_attempts (payer_organization_id)
    WHERE payer_organization_id IS NOT NULL;

CREATE TRIGGER billing_payment_attempts_notify_insert AFTER INSERT ON billing_payment_attempts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER billing_payment_attempts_notify_update AFTER UPDATE ON billing_payment_attempts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
CREATE TRIGGER billing_payment_attempts_notify_delete AFTER DELETE ON billing_payment_attempts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clerk_sync_notify();
