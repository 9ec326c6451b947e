//! The typed inbound activities read real payloads: every activity in
//! `../shared/fixtures/fediverse-payloads/` (169 payloads from 19 programs, read in place) is
//! parsed into its struct as the inbox would, without a node. Activities of a type this node
//! handles must parse, or be refused with a 400 that names what is missing; types it does not
//! handle get a 422 naming the type; bare objects (posts the replay wraps in a Create) are read
//! as the post a Create would carry. The end-to-end replay is `tests/fediverse_payloads.rs`.

use std::path::{Path, PathBuf};

use cocreate::domain::kinds::ActorKind;
use cocreate::federation::activities::post::Post;
use cocreate::federation::activities::{DirectActivity, RelayedActivity};
use cocreate::store::models::Actor;
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/fediverse-payloads"
);

fn payloads() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(FIXTURES)];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!("{}: {e} (the fixtures live beside the repo)", dir.display())
        });
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    out.push((name(&path), v));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn name(path: &Path) -> String {
    path.strip_prefix(FIXTURES).unwrap().display().to_string()
}

fn actor(kind: ActorKind) -> Actor {
    let now = chrono::Utc::now().naive_utc();
    Actor {
        id: 1,
        ap_id: "https://remote.example/actor".into(),
        kind,
        local: false,
        name: "remote".into(),
        display_name: "remote".into(),
        summary: String::new(),
        inbox: "https://remote.example/inbox".into(),
        shared_inbox: None,
        outbox: None,
        followers: None,
        public_key_pem: String::new(),
        key_id: String::new(),
        private_key_pem: None,
        visibility: None,
        staff: false,
        host: "remote.example".into(),
        fetched_at: now,
        created_at: now,
        password_hash: Default::default(),
    }
}

const HANDLED: [&str; 15] = [
    "Create",
    "Update",
    "Delete",
    "Like",
    "EmojiReact",
    "Undo",
    "Follow",
    "Join",
    "Accept",
    "Reject",
    "Announce",
    "Add",
    "Remove",
    "Invite",
    "Offer",
];

fn type_of(v: &Value) -> Option<&str> {
    match &v["type"] {
        Value::String(s) => Some(s),
        Value::Array(a) => a.iter().find_map(Value::as_str),
        _ => None,
    }
}

#[test]
fn real_activities_parse_into_their_structs_or_are_refused_with_a_reason() {
    let all = payloads();
    assert!(
        all.len() >= 150,
        "only {} payloads under {FIXTURES}",
        all.len()
    );
    // A room may send every kind; membership kinds are refused from anyone else (422).
    let room = actor(ActorKind::Group);
    let (mut parsed, mut unsupported, mut refused, mut objects) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (file, v) in &all {
        let is_activity = v.get("actor").is_some();
        let Some(kind) = type_of(v) else { continue };
        if !is_activity {
            // A bare object: what a Create would carry, read leniently.
            if let Err(e) = serde_json::from_value::<Post>(v.clone()) {
                failures.push(format!(
                    "{file}: object {kind} does not read as a post: {e}"
                ));
            }
            objects += 1;
            continue;
        }
        match DirectActivity::parse(v, &room) {
            Ok(_) => parsed += 1,
            Err(e) if e.status() == 422 => {
                unsupported += 1;
                if HANDLED.contains(&kind) {
                    failures.push(format!(
                        "{file}: a handled {kind} was refused as unsupported: {e}"
                    ));
                }
            }
            Err(e) if e.status() == 400 => {
                refused += 1;
                if !HANDLED.contains(&kind) || !e.to_string().contains("is not usable") {
                    failures.push(format!("{file}: {kind} refused without naming why: {e}"));
                }
            }
            Err(e) => failures.push(format!("{file}: {kind} gave {}: {e}", e.status())),
        }
    }
    eprintln!(
        "{} payloads: {parsed} activities parsed, {refused} refused with 400, \
         {unsupported} of unhandled types (422), {objects} bare objects read as posts",
        all.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(parsed >= 60, "only {parsed} activities parsed");
}

#[test]
fn what_a_room_relays_is_a_subset_of_what_may_arrive_directly() {
    let room = actor(ActorKind::Group);
    let person = actor(ActorKind::Person);
    for (file, v) in payloads().iter().filter(|(_, v)| v.get("actor").is_some()) {
        if RelayedActivity::parse(v, &room).is_ok() {
            assert!(
                DirectActivity::parse(v, &room).is_ok(),
                "{file}: relayed but not accepted directly"
            );
        }
        // Follows, answers, offers and membership changes never come through a relay.
        if matches!(
            type_of(v),
            Some("Follow" | "Join" | "Accept" | "Reject" | "Offer" | "Invite" | "Add" | "Announce")
        ) {
            assert_eq!(
                RelayedActivity::parse(v, &room)
                    .map(|_| ())
                    .unwrap_err()
                    .status(),
                422,
                "{file}"
            );
        }
        // Only rooms send membership changes.
        if matches!(type_of(v), Some("Invite" | "Add" | "Remove")) {
            assert_eq!(
                DirectActivity::parse(v, &person)
                    .map(|_| ())
                    .unwrap_err()
                    .status(),
                422,
                "{file}"
            );
        }
    }
}
