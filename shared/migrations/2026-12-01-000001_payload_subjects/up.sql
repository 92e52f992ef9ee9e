-- A stored payload may name several users (a membership names its member, an
-- organization its creator, a billing item its payer, ...). Erasure must find every
-- payload that names a deleted user, so the record keeps all of them.
ALTER TABLE webhook_events ADD COLUMN subject_user_ids TEXT[];
UPDATE webhook_events SET subject_user_ids = ARRAY[subject_user_id]
    WHERE subject_user_id IS NOT NULL AND payload IS NOT NULL;
DROP INDEX webhook_events_subject_user_id_idx;
ALTER TABLE webhook_events DROP COLUMN subject_user_id;
CREATE INDEX webhook_events_subject_user_ids_idx ON webhook_events
    USING gin (subject_user_ids) WHERE payload IS NOT NULL;
