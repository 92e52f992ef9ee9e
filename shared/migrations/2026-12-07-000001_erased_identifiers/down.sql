DROP INDEX webhook_events_subject_digests_idx;
ALTER TABLE webhook_events DROP COLUMN subject_digests;
DROP TABLE erased_identifiers;
