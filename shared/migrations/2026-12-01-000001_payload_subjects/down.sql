ALTER TABLE webhook_events ADD COLUMN subject_user_id TEXT;
UPDATE webhook_events SET subject_user_id = subject_user_ids[1]
    WHERE subject_user_ids IS NOT NULL;
DROP INDEX webhook_events_subject_user_ids_idx;
ALTER TABLE webhook_events DROP COLUMN subject_user_ids;
CREATE INDEX webhook_events_subject_user_id_idx ON webhook_events (subject_user_id)
    WHERE subject_user_id IS NOT NULL;
