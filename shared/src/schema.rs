// @generated automatically by Diesel CLI.

diesel::table! {
    organization_memberships (id) {
        id -> Text,
        organization_id -> Text,
        user_id -> Nullable<Text>,
        role -> Nullable<Text>,
        public_metadata -> Nullable<Jsonb>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Nullable<Text>,
        slug -> Nullable<Text>,
        image_url -> Nullable<Text>,
        created_by -> Nullable<Text>,
        public_metadata -> Nullable<Jsonb>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        username -> Nullable<Text>,
        image_url -> Nullable<Text>,
        external_id -> Nullable<Text>,
        public_metadata -> Nullable<Jsonb>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_events (svix_id) {
        svix_id -> Text,
        event_type -> Text,
        object_id -> Nullable<Text>,
        occurred_at -> Nullable<Timestamptz>,
        received_at -> Nullable<Timestamptz>,
        processed_at -> Timestamptz,
        outcome -> Text,
        attempts -> Int4,
        payload -> Nullable<Jsonb>,
        subject_user_ids -> Nullable<Array<Text>>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    organization_memberships,
    organizations,
    users,
    webhook_events,
);
