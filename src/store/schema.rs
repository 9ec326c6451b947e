//! Diesel table definitions shared by the SQLite and PostgreSQL backends.
//!
//! Written by hand to match `migrations/*/up.sql`; both backends use the same column types.

diesel::table! {
    actors (id) {
        id -> Integer,
        ap_id -> Text,
        kind -> Text,
        local -> Bool,
        name -> Text,
        display_name -> Text,
        summary -> Text,
        inbox -> Text,
        shared_inbox -> Nullable<Text>,
        outbox -> Nullable<Text>,
        followers -> Nullable<Text>,
        public_key_pem -> Text,
        key_id -> Text,
        private_key_pem -> Nullable<Text>,
        visibility -> Nullable<Text>,
        staff -> Bool,
        host -> Text,
        fetched_at -> Timestamp,
        created_at -> Timestamp,
        password_hash -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (token_hash) {
        token_hash -> Text,
        actor_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        actor_id -> Integer,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_attempts (id) {
        id -> Integer,
        name -> Text,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    follows (id) {
        id -> Integer,
        follower_id -> Integer,
        target_id -> Integer,
        state -> Text,
        activity_ap_id -> Text,
        created_at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    room_members (id) {
        id -> Integer,
        room_id -> Integer,
        actor_id -> Integer,
        role -> Text,
        partner_kind -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    room_requests (id) {
        id -> Integer,
        room_id -> Integer,
        actor_id -> Integer,
        activity -> Text,
        message -> Nullable<Text>,
        state -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ideas (id) {
        id -> Integer,
        ap_id -> Text,
        room_id -> Integer,
        author_id -> Integer,
        title -> Text,
        source -> Text,
        content -> Text,
        stage -> Text,
        stage_answer -> Nullable<Text>,
        local -> Bool,
        deleted -> Bool,
        published -> Timestamp,
        updated -> Timestamp,
        refused_reason -> Nullable<Text>,
        terms -> Nullable<Text>,
        provenance -> Nullable<Text>,
        origin -> Nullable<Text>,
        handed_off_to -> Nullable<Text>,
        merged_into -> Nullable<Text>,
    }
}

diesel::table! {
    handoffs (id) {
        id -> Integer,
        ap_id -> Text,
        idea_ap_id -> Text,
        from_org -> Text,
        to_org -> Text,
        message -> Text,
        incoming -> Bool,
        state -> Text,
        reason -> Nullable<Text>,
        result -> Nullable<Text>,
        offer -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Integer,
        ap_id -> Text,
        room_id -> Integer,
        invitee_id -> Integer,
        role -> Text,
        partner_kind -> Nullable<Text>,
        incoming -> Bool,
        state -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    room_settings (room_id) {
        room_id -> Integer,
        phases -> Text,
        current_phase -> Integer,
        terms_spdx -> Nullable<Text>,
        terms_text -> Nullable<Text>,
        terms_version -> Nullable<Text>,
    }
}

diesel::table! {
    idea_stages (id) {
        id -> Integer,
        idea_id -> Integer,
        stage -> Text,
        answer -> Nullable<Text>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    idea_contributors (idea_id, actor_id, role) {
        idea_id -> Integer,
        actor_id -> Integer,
        role -> Text,
    }
}

diesel::table! {
    comments (id) {
        id -> Integer,
        ap_id -> Text,
        idea_id -> Integer,
        author_id -> Integer,
        in_reply_to -> Text,
        content -> Text,
        source -> Nullable<Text>,
        local -> Bool,
        deleted -> Bool,
        published -> Timestamp,
        updated -> Timestamp,
        terms -> Nullable<Text>,
    }
}

diesel::table! {
    supports (id) {
        id -> Integer,
        idea_id -> Integer,
        actor_id -> Integer,
        activity_ap_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activities (id) {
        id -> Integer,
        ap_id -> Text,
        actor_id -> Integer,
        kind -> Text,
        body -> Text,
        public -> Bool,
        published -> Timestamp,
        listed -> Bool,
    }
}

diesel::table! {
    peer_software (host) {
        host -> Text,
        software -> Nullable<Text>,
        version -> Nullable<Text>,
        checked_at -> Timestamp,
    }
}

diesel::table! {
    blocked_hosts (host) {
        host -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inbox_receipts (ap_id) {
        ap_id -> Text,
        actor -> Text,
        kind -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Integer,
        activity_ap_id -> Text,
        signer_id -> Integer,
        inbox -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        host -> Text,
        body_id -> Integer,
    }
}

diesel::table! {
    delivery_bodies (id) {
        id -> Integer,
        body -> Text,
    }
}

diesel::table! {
    delivery_hosts (host) {
        host -> Text,
        failures -> Integer,
        retry_at -> Nullable<Timestamp>,
        parked_since -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        queued -> Bool,
    }
}

diesel::table! {
    peers (host) {
        host -> Text,
        signature_scheme -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> actors (actor_id));
diesel::joinable!(sessions -> actors (actor_id));
diesel::joinable!(comments -> ideas (idea_id));
diesel::joinable!(supports -> ideas (idea_id));
diesel::joinable!(idea_contributors -> ideas (idea_id));
diesel::joinable!(idea_stages -> ideas (idea_id));

diesel::allow_tables_to_appear_in_same_query!(
    actors,
    api_tokens,
    sessions,
    sign_in_attempts,
    follows,
    room_members,
    room_requests,
    room_settings,
    invitations,
    handoffs,
    ideas,
    idea_contributors,
    idea_stages,
    comments,
    supports,
    activities,
    inbox_receipts,
    deliveries,
    delivery_bodies,
    delivery_hosts,
    peers,
    peer_software,
    blocked_hosts,
);
