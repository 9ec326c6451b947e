//! Queries that read several things in one round trip (for the inbox's speed) read exactly
//! what their plain versions read, on both backends.

mod common;

use cocreate::domain::kinds::{ActorKind, FollowState};
use cocreate::domain::lifecycle::Stage;
use cocreate::store::follows::Recipient;
use cocreate::store::models::{Actor, NewActor, NewIdea};
use cocreate::store::{self, now, Db, DbConnection};
use common::*;

async fn open(backend: Backend, dir: &tempfile::TempDir) -> Db {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("q.db").display()),
        Backend::Postgres => fresh_postgres_db(),
    };
    Db::open(&url).expect("open the database")
}

fn actor(
    c: &mut DbConnection,
    name: &str,
    host: &str,
    kind: ActorKind,
    shared_inbox: bool,
) -> Actor {
    let base = format!("https://{host}/actors/{name}");
    let new = NewActor {
        ap_id: base.clone(),
        kind,
        local: false,
        name: name.into(),
        display_name: name.into(),
        summary: String::new(),
        inbox: format!("{base}/inbox"),
        shared_inbox: shared_inbox.then(|| format!("https://{host}/inbox")),
        outbox: None,
        followers: None,
        public_key_pem: String::new(),
        key_id: format!("{base}#main-key"),
        private_key_pem: None,
        visibility: None,
        staff: false,
        host: host.into(),
        fetched_at: now(),
        created_at: now(),
    };
    store::actors::insert(c, &new).unwrap()
}

fn idea(c: &mut DbConnection, room: &Actor, author: &Actor, n: u32) -> String {
    let ap_id = format!("https://maker.example/ideas/{n}");
    store::ideas::insert(
        c,
        &NewIdea {
            ap_id: ap_id.clone(),
            room_id: room.id,
            author_id: author.id,
            title: format!("idea {n}"),
            source: String::new(),
            content: String::new(),
            stage: Stage::Suggested,
            stage_answer: None,
            local: true,
            deleted: false,
            published: now(),
            updated: now(),
            terms: None,
            provenance: None,
            origin: None,
        },
    )
    .unwrap();
    ap_id
}

/// The reply target's recipients are the room's accepted followers, each at its shared
/// inbox when it has one, as [`store::follows::recipients_of`] reads them; none when the
/// room has no follower (an empty JSON aggregate, which PostgreSQL gives as NULL).
async fn reply_target_reads_the_rooms_recipients(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir).await;
    db.write(|c| {
        let room = actor(c, "room", "maker.example", ActorKind::Group, true);
        let quiet = actor(c, "quiet", "maker.example", ActorKind::Group, true);
        let author = actor(c, "author", "a.example", ActorKind::Person, true);
        let shared = actor(c, "shared", "b.example", ActorKind::Person, true);
        let own = actor(c, "own", "c.example:8080", ActorKind::Person, false);
        let group = actor(c, "group", "d.example", ActorKind::Group, true);
        let pending = actor(c, "pending", "e.example", ActorKind::Person, true);
        let rejected = actor(c, "rejected", "f.example", ActorKind::Person, true);
        let elsewhere = actor(c, "elsewhere", "g.example", ActorKind::Person, true);
        for (follower, state) in [
            (&author, FollowState::Accepted),
            (&shared, FollowState::Accepted),
            (&own, FollowState::Accepted),
            (&group, FollowState::Accepted),
            (&pending, FollowState::Pending),
            (&rejected, FollowState::Rejected),
        ] {
            let activity = format!("{}/follows/room", follower.ap_id);
            store::follows::put(c, follower.id, room.id, state, &activity)?;
        }
        store::follows::put(
            c,
            elsewhere.id,
            quiet.id,
            FollowState::Accepted,
            "https://g.example/follows/quiet",
        )?;
        let followed = idea(c, &room, &author, 1);
        let unfollowed = idea(c, &quiet, &author, 2);

        let expected = vec![
            Recipient {
                host: "a.example".into(),
                inbox: "https://a.example/inbox".into(),
                kind: ActorKind::Person,
            },
            Recipient {
                host: "b.example".into(),
                inbox: "https://b.example/inbox".into(),
                kind: ActorKind::Person,
            },
            Recipient {
                host: "c.example:8080".into(),
                inbox: "https://c.example:8080/actors/own/inbox".into(),
                kind: ActorKind::Person,
            },
            Recipient {
                host: "d.example".into(),
                inbox: "https://d.example/inbox".into(),
                kind: ActorKind::Group,
            },
        ];
        assert_eq!(store::follows::recipients_of(c, room.id)?, expected);
        let target = store::comments::reply_target(c, &followed, "https://a.example/r/1", &author)?
            .expect("the idea is held");
        assert_eq!(target.recipients, expected);

        // The quiet room's one follower is its own; the followed room's are not its.
        let target =
            store::comments::reply_target(c, &unfollowed, "https://a.example/r/2", &author)?
                .expect("the idea is held");
        assert_eq!(
            target.recipients,
            store::follows::recipients_of(c, quiet.id)?
        );
        assert_eq!(target.recipients.len(), 1);
        store::follows::delete(c, elsewhere.id, quiet.id)?;
        let target =
            store::comments::reply_target(c, &unfollowed, "https://a.example/r/2", &author)?
                .expect("the idea is held");
        assert_eq!(target.recipients, vec![]);
        Ok(())
    })
    .await
    .unwrap();
}
backends!(reply_target_reads_the_rooms_recipients);

/// A received reply's receipt, comment and relayed activity are stored together, all or
/// none: a repeat of the receipt stores neither the comment nor a second relayed activity,
/// and a reply stored without a relay (a remote room's) stores no activity.
async fn a_received_reply_is_stored_with_its_relay_or_not_at_all(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir).await;
    db.write(|c| {
        let room = actor(c, "room", "maker.example", ActorKind::Group, true);
        let author = actor(c, "author", "a.example", ActorKind::Person, true);
        let idea_ap_id = idea(c, &room, &author, 1);
        let idea = store::ideas::by_ap_id(c, &idea_ap_id)?.expect("the idea is held");
        let comment = |n: u32| store::models::NewComment {
            ap_id: format!("https://a.example/notes/{n}"),
            idea_id: idea.id,
            author_id: author.id,
            in_reply_to: idea_ap_id.clone(),
            content: format!("<p>reply {n}</p>"),
            source: None,
            local: false,
            deleted: false,
            published: now(),
            updated: now(),
            terms: Some(r#"{"summary":"terms"}"#.into()),
        };
        let receipt = |n: u32| {
            (
                format!("https://a.example/create/{n}"),
                author.ap_id.clone(),
            )
        };
        let relay = |n: u32| {
            let ap_id = format!("https://maker.example/activities/{n}");
            let body = format!(r#"{{"id":"{ap_id}","type":"Announce"}}"#);
            (ap_id, body)
        };
        let store_reply = |c: &mut DbConnection, n: u32, relay_n: Option<u32>| {
            let (id, actor) = receipt(n);
            let receipt = store::comments::ReceiptOf {
                ap_id: &id,
                actor: &actor,
                kind: "Create",
            };
            let relay = relay_n.map(relay);
            let row = relay
                .as_ref()
                .map(|(ap_id, body)| store::activities::NewActivity {
                    ap_id,
                    actor_id: room.id,
                    kind: "Announce",
                    body,
                    public: true,
                    listed: true,
                });
            store::comments::insert_received(c, receipt, &comment(n), row.as_ref())
        };

        assert!(store_reply(c, 1, Some(1))?, "a new reply is stored");
        let stored = store::comments::by_ap_id(c, "https://a.example/notes/1")?
            .expect("the comment is stored");
        assert_eq!(stored.content, "<p>reply 1</p>");
        assert_eq!(stored.in_reply_to, idea_ap_id);
        let announce = store::activities::by_ap_id(c, "https://maker.example/activities/1")?
            .expect("the relay is stored");
        assert_eq!(
            (
                announce.actor_id,
                announce.kind.as_str(),
                announce.public,
                announce.listed
            ),
            (room.id, "Announce", true, true)
        );
        assert!(announce.body.contains("\"Announce\""));
        assert!(store::receipts::exists(c, "https://a.example/create/1")?);

        // The same activity again, with a relay of a new id: nothing more is stored.
        assert!(!store_reply(c, 1, Some(2))?, "a repeat is a duplicate");
        assert!(store::activities::by_ap_id(c, "https://maker.example/activities/2")?.is_none());
        assert_eq!(store::comments::count_of_idea(c, idea.id)?, 1);

        // Without a relay: the receipt and the comment only.
        assert!(store_reply(c, 2, None)?);
        assert_eq!(store::comments::count_of_idea(c, idea.id)?, 2);
        assert!(store::receipts::exists(c, "https://a.example/create/2")?);
        assert_eq!(
            store::activities::count_of_actor(c, room.id, store::activities::Listing::All)?,
            1
        );
        Ok(())
    })
    .await
    .unwrap();
}
backends!(a_received_reply_is_stored_with_its_relay_or_not_at_all);

/// On PostgreSQL with lz4 (the servers CI and the compose file run), large text is stored
/// compressed with lz4 rather than pglz: a relayed `Announce` over 2 KB, as the inbox stores
/// one for every reply, and the body a delivery of it sends.
#[test]
fn large_text_is_compressed_with_lz4_on_postgresql() {
    use diesel::sql_types::{Nullable, Text};
    use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
    if !backend_available(Backend::Postgres) {
        return;
    }
    #[derive(QueryableByName)]
    struct Method {
        #[diesel(sql_type = Nullable<Text>)]
        method: Option<String>,
    }
    let url = fresh_postgres_db();
    let db = Db::open(&url).expect("open the database");
    let body = format!(
        r#"{{"id":"https://maker.example/activities/1","type":"Announce","object":"{}"}}"#,
        "a reply that says a lot, ".repeat(200)
    );
    let stored = body.clone();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(db.write(move |c| {
            let room = actor(c, "room", "maker.example", ActorKind::Group, true);
            store::activities::insert(
                c,
                &store::activities::NewActivity {
                    ap_id: "https://maker.example/activities/1",
                    actor_id: room.id,
                    kind: "Announce",
                    body: &stored,
                    public: true,
                    listed: true,
                },
            )?;
            store::deliveries::enqueue(
                c,
                "https://maker.example/activities/1",
                room.id,
                "https://a.example/inbox",
                &stored,
            )
        }))
        .unwrap();
    let mut c = PgConnection::establish(&url).unwrap();
    let method = |c: &mut PgConnection, sql: &str| {
        diesel::sql_query(sql)
            .get_result::<Method>(c)
            .unwrap()
            .method
    };
    let activity = method(
        &mut c,
        "SELECT pg_column_compression(body) AS method FROM activities",
    );
    let delivery = method(
        &mut c,
        "SELECT pg_column_compression(body) AS method FROM delivery_bodies",
    );
    assert!(body.len() > 2048);
    assert_eq!(activity.as_deref(), Some("lz4"));
    assert_eq!(delivery.as_deref(), Some("lz4"));
}

/// Queued deliveries are one per target, in the order given, each with its own body (a body
/// stored once however many share it) and its inbox's host, and every host is marked queued:
/// what the delivery worker claims by. On PostgreSQL this is one statement.
async fn queued_deliveries_keep_their_order_bodies_and_hosts(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir).await;
    let (page, article) = (r#"{"type":"Page"}"#, r#"{"type":"Article"}"#);
    let targets = [
        ("https://b.example/inbox", page),
        ("https://a.example:8080/inbox", article),
        ("https://b.example/users/x/inbox", article),
        ("https://c.example/inbox", page),
        ("not a URL", page),
    ];
    let (queued, bodies, hosts) = db
        .write(move |c| {
            // A host already marked queued is left as it is (and not doubled).
            store::delivery_hosts::mark_queued(c, &["c.example"])?;
            let room = actor(c, "room", "maker.example", ActorKind::Group, true);
            store::deliveries::enqueue_all(c, "https://maker.example/a/1", room.id, &targets)?;
            store::deliveries::enqueue_all(c, "https://maker.example/a/2", room.id, &[])?;
            let mut queued = store::deliveries::list(c, None, 100)?;
            queued.reverse();
            let bodies = store::deliveries::bodies(c, &queued)?;
            let mut hosts = Vec::new();
            for host in ["b.example", "a.example:8080", "c.example", ""] {
                hosts.push(store::delivery_hosts::get(c, host)?.map(|h| h.queued));
            }
            Ok((queued, bodies, hosts))
        })
        .await
        .unwrap();
    let got: Vec<(&str, &str, &str, &str)> = queued
        .iter()
        .map(|d| {
            (
                d.activity_ap_id.as_str(),
                d.inbox.as_str(),
                d.host.as_str(),
                &*bodies[&d.body_id],
            )
        })
        .collect();
    let a = "https://maker.example/a/1";
    assert_eq!(
        got,
        vec![
            (a, "https://b.example/inbox", "b.example", page),
            (a, "https://a.example:8080/inbox", "a.example:8080", article),
            (a, "https://b.example/users/x/inbox", "b.example", article),
            (a, "https://c.example/inbox", "c.example", page),
            (a, "not a URL", "", page),
        ]
    );
    assert!(queued.iter().all(|d| d.attempts == 0
        && d.state == cocreate::domain::kinds::DeliveryState::Pending
        && d.claimed_until.is_none()));
    let mut body_ids: Vec<i32> = queued.iter().map(|d| d.body_id).collect();
    body_ids.sort_unstable();
    body_ids.dedup();
    assert_eq!(body_ids.len(), 2, "one row per distinct body");
    assert_eq!(hosts, vec![Some(true); 4]);
}

backends!(queued_deliveries_keep_their_order_bodies_and_hosts);

/// What a reply target is, in terms that compare: the idea, the room, whether it has
/// settings, whether the reply is held, the memberships (member and kind) and recipients.
type TargetSummary = (i32, i32, bool, bool, Vec<(i32, ActorKind)>, Vec<Recipient>);

fn target_summary(t: &store::comments::ReplyTarget) -> TargetSummary {
    let mut memberships: Vec<(i32, ActorKind)> = t
        .memberships
        .iter()
        .map(|(m, kind)| (m.actor_id, *kind))
        .collect();
    memberships.sort_by_key(|m| m.0);
    (
        t.idea.id,
        t.room.id,
        t.settings.is_some(),
        t.held,
        memberships,
        t.recipients.clone(),
    )
}

/// The inbox's screening of a reply reads its target along on PostgreSQL (one round trip for
/// both), exactly what [`store::comments::reply_target`] reads for the key's actor: the
/// author's own membership and those of organisations on its host, not of other actors on its
/// host or of organisations elsewhere; whether the reply is held; the room's followers. Only
/// for an idea this node holds (a reply to a comment is read when it is stored), only for a
/// known key, never past a block; SQLite, where reads are not round trips, reads it when the
/// reply is stored.
async fn the_screening_reads_a_replys_target_ahead_as_reply_target_does(backend: Backend) {
    use cocreate::domain::membership::Role;
    use cocreate::store::inbound::{screen, ReplyProbe};
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, &dir).await;
    db.write(move |c| {
        let room = actor(c, "room", "maker.example", ActorKind::Group, true);
        let author = actor(c, "author", "a.example", ActorKind::Person, true);
        let org = actor(c, "org", "a.example", ActorKind::Organization, true);
        let neighbour = actor(c, "neighbour", "a.example", ActorKind::Person, true);
        let other_org = actor(c, "other", "b.example", ActorKind::Organization, true);
        let follower = actor(c, "follower", "c.example", ActorKind::Person, false);
        store::follows::put(
            c,
            follower.id,
            room.id,
            FollowState::Accepted,
            "https://c.example/f/1",
        )?;
        for member in [&author, &org, &neighbour, &other_org] {
            store::members::put(c, room.id, member.id, Role::Partner, None)?;
        }
        let idea_ap_id = idea(c, &room, &author, 1);
        let held = "https://a.example/notes/held";
        let idea_id = store::ideas::by_ap_id(c, &idea_ap_id)?.unwrap().id;
        let parent = store::comments::insert(
            c,
            &store::models::NewComment {
                ap_id: held.into(),
                idea_id,
                author_id: author.id,
                in_reply_to: idea_ap_id.clone(),
                content: "<p>held</p>".into(),
                source: None,
                local: false,
                deleted: false,
                published: now(),
                updated: now(),
                terms: None,
            },
        )?;
        let key = author.key_id.clone();
        let hosts = vec!["a.example".to_string()];
        let probe = |in_reply_to: &str, ap_id: &str| ReplyProbe {
            in_reply_to: in_reply_to.into(),
            ap_id: ap_id.into(),
            host: "a.example".into(),
        };
        let activity = Some("https://a.example/create/1");
        for ap_id in ["https://a.example/notes/new", held] {
            let screened = screen(
                c,
                &hosts,
                Some(&key),
                activity,
                Some(probe(&idea_ap_id, ap_id)),
            )?;
            assert_eq!(screened.signer.as_ref().map(|s| s.id), Some(author.id));
            assert!(screened.block.is_none() && !screened.seen);
            let expected = store::comments::reply_target(c, &idea_ap_id, ap_id, &author)?
                .expect("the idea is held");
            assert_eq!(
                target_summary(&expected).4,
                vec![
                    (author.id, ActorKind::Person),
                    (org.id, ActorKind::Organization)
                ],
                "the author's own membership and its organisation's, no one else's"
            );
            assert_eq!(target_summary(&expected).3, ap_id == held);
            match backend {
                Backend::Postgres => {
                    let ahead = screened.reply.expect("read ahead on PostgreSQL");
                    let target = ahead
                        .target_for(&author, &probe(&idea_ap_id, ap_id))
                        .expect("read for this reply and this author");
                    assert_eq!(target_summary(&target), target_summary(&expected));
                }
                Backend::Sqlite => assert!(screened.reply.is_none()),
            }
        }
        if backend == Backend::Postgres {
            let mut read = |probe: ReplyProbe| screen(c, &hosts, Some(&key), activity, Some(probe));
            // Taken only for the reply and the author it was read for.
            let ahead = read(probe(&idea_ap_id, "https://a.example/notes/2"))?
                .reply
                .unwrap();
            assert!(ahead
                .target_for(&neighbour, &probe(&idea_ap_id, "https://a.example/notes/2"))
                .is_none());
            let ahead = read(probe(&idea_ap_id, "https://a.example/notes/2"))?
                .reply
                .unwrap();
            assert!(ahead
                .target_for(&author, &probe(&idea_ap_id, "https://a.example/notes/3"))
                .is_none());
            // A reply to a comment, or to nothing held here: read when it is stored.
            let to_comment = read(probe(&parent.ap_id, "https://a.example/notes/4"))?;
            assert_eq!(to_comment.signer.map(|s| s.id), Some(author.id));
            assert!(to_comment.reply.is_none());
            assert!(read(probe(
                "https://x.example/ideas/9",
                "https://a.example/notes/5"
            ))?
            .reply
            .is_none());
        }
        // An unknown key reads nothing ahead; a blocked host, only its block.
        let unknown = screen(
            c,
            &hosts,
            Some("https://a.example/actors/nobody#main-key"),
            activity,
            Some(probe(&idea_ap_id, "https://a.example/notes/6")),
        )?;
        assert!(unknown.signer.is_none() && unknown.reply.is_none());
        store::blocked_hosts::put(c, "a.example", None, now())?;
        let blocked = screen(
            c,
            &hosts,
            Some(&key),
            activity,
            Some(probe(&idea_ap_id, "https://a.example/notes/7")),
        )?;
        assert_eq!(blocked.block.map(|b| b.host), Some("a.example".to_string()));
        assert!(blocked.signer.is_none() && blocked.reply.is_none());
        Ok(())
    })
    .await
    .unwrap();
}
backends!(the_screening_reads_a_replys_target_ahead_as_reply_target_does);
