// @generated automatically by Diesel CLI.

diesel::table! {
    billing_payment_attempts (id) {
        id -> Text,
        status -> Nullable<Text>,
        payer_user_id -> Nullable<Text>,
        payer_organization_id -> Nullable<Text>,
        amount -> Nullable<Int8>,
        currency -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    billing_subscription_items (id) {
        id -> Text,
        subscription_id -> Nullable<Text>,
        plan_id -> Nullable<Text>,
        status -> Nullable<Text>,
        payer_user_id -> Nullable<Text>,
        payer_organization_id -> Nullable<Text>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    billing_subscriptions (id) {
        id -> Text,
        status -> Nullable<Text>,
        payer_user_id -> Nullable<Text>,
        payer_organization_id -> Nullable<Text>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    change_relays (name) {
        name -> Text,
        relayed_through -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    change_retention (only_row) {
        only_row -> Bool,
        pruned_through -> Int8,
        pruned_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    change_sequence (only_row) {
        only_row -> Bool,
        last_seq -> Int8,
    }
}

diesel::table! {
    changes (seq) {
        seq -> Int8,
        kind -> Text,
        object_id -> Text,
        op -> Text,
        version -> Nullable<Timestamptz>,
        svix_id -> Nullable<Text>,
        committed_at -> Timestamptz,
        // `columns` would clash with the module diesel generates.
        #[sql_name = "columns"]
        changed_columns -> Array<Text>,
    }
}

diesel::table! {
    erased_identifiers (kind, digest) {
        kind -> Text,
        digest -> Bytea,
        user_id -> Text,
        erased_at -> Timestamptz,
    }
}

diesel::table! {
    organization_domains (id) {
        id -> Text,
        organization_id -> Nullable<Text>,
        name -> Nullable<Text>,
        enrollment_mode -> Nullable<Text>,
        verified -> Nullable<Bool>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    organization_invitations (id) {
        id -> Text,
        organization_id -> Nullable<Text>,
        email_address -> Nullable<Text>,
        role -> Nullable<Text>,
        status -> Nullable<Text>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

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
    permissions (id) {
        id -> Text,
        key -> Nullable<Text>,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        data -> Nullable<Jsonb>,
        clerk_created_at -> Nullable<Timestamptz>,
        clerk_updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        key -> Nullable<Text>,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
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
    waitlist_entries (id) {
        id -> Text,
        email_address -> Nullable<Text>,
        status -> Nullable<Text>,
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
        subject_digests -> Nullable<Array<Bytea>>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    billing_payment_attempts,
    billing_subscription_items,
    billing_subscriptions,
    change_relays,
    change_retention,
    change_sequence,
    changes,
    erased_identifiers,
    organization_domains,
    organization_invitations,
    organization_memberships,
    organizations,
    permissions,
    roles,
    users,
    waitlist_entries,
    webhook_events,
);
