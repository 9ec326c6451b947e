//! The shapes other fediverse servers read, checked on the JSON real nodes serve and send:
//! ideas as `Page`s with `name`, `summary`, `url`, `source`, `to`/`cc`/`audience`, their
//! thread as a paged `context` collection with every comment, `replies`; a room's paged outbox
//! of announced activities, from which a new follower backfills 120 ideas; what each kind of
//! follower is sent (a Lemmy-like server only `Announce(activity)`, a Mastodon-like one also
//! `Announce(Page)`, a Discourse-like one `Article`s), nothing announced back to the server an
//! activity came from; and a partners room the Lemmy 1.0 way (addressed to the room and its
//! followers, `?is_follower=` for members' nodes).

mod common;

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// `to` and `cc` of a document, both present, as one list.
fn addressed(doc: &Value) -> Vec<String> {
    let mut all = Vec::new();
    for key in ["to", "cc"] {
        let list = doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("`{key}` is a list: {doc}"));
        all.extend(list.iter().map(|v| v.as_str().unwrap().to_string()));
    }
    all
}

/// Checks the FEP-1b12 addressing of a document of a public room.
fn assert_public_in_room(doc: &Value, room: &str) {
    let all = addressed(doc);
    assert_eq!(doc["to"], json!([PUBLIC]), "{doc}");
    assert!(all.iter().any(|a| a == room), "the room in to or cc: {doc}");
    assert!(
        all.iter().any(|a| *a == format!("{room}/followers")),
        "the room's followers in to or cc: {doc}"
    );
    assert_eq!(doc["audience"], room, "{doc}");
}

/// All pages of a paged collection, following `first` and `next`.
async fn all_pages(node: &Node, collection: &Value) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = collection["first"].as_str().map(String::from);
    let mut pages = 0;
    while let Some(url) = next {
        let (s, page) = node.get_ap(&url).await;
        assert_eq!(s, 200, "{url}: {page}");
        assert_eq!(page["id"], url.as_str());
        assert_eq!(page["type"], "OrderedCollectionPage");
        assert_eq!(page["partOf"], collection["id"]);
        items.extend(page["orderedItems"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(String::from);
        pages += 1;
        assert!(pages < 100, "pages never end");
    }
    items
}

async fn ideas_and_threads(backend: Backend) {
    let a = Node::start("A", backend).await;
    let staff = a.add_user("alice", true);
    let carol = a.add_user("carol", false);
    let (s, room) = a
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "widgets", "title": "Widgets"}),
        )
        .await;
    assert_eq!(s, 201, "{room}");
    let room = format!("{}/r/widgets", a.base);
    let (s, idea) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &carol,
            json!({"title": "Recyclable casing", "body": "Make the casing from **recycled** aluminium.\n\nIt saves 30% CO2 per unit."}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();

    // The idea: a Page with a name, a plain-text pitch, its page, its markdown, one author.
    let (s, page) = a.get_ap(&idea_ap).await;
    assert_eq!(s, 200);
    assert_eq!(page["type"], "Page");
    assert_eq!(page["name"], "Recyclable casing");
    assert_eq!(
        page["summary"], "Make the casing from recycled aluminium.",
        "the first paragraph as plain text: {page}"
    );
    assert_eq!(page["url"], idea_ap.as_str(), "its HTML page is its id");
    assert_eq!(page["attributedTo"], format!("{}/u/carol", a.base));
    assert_eq!(page["source"]["mediaType"], "text/markdown");
    assert!(page["source"]["content"]
        .as_str()
        .unwrap()
        .contains("**recycled**"));
    assert_public_in_room(&page, &room);
    let thread = format!("{idea_ap}/context");
    assert_eq!(page["context"], thread.as_str(), "{page}");
    assert_eq!(page["replies"], format!("{idea_ap}/replies"));
    // A change is in the very next read of the document (anonymous reads may be served from
    // the bytes last sent, but never across a write).
    assert_eq!(
        a.get_ap(&idea_ap).await.1,
        page,
        "an unchanged idea reads the same"
    );
    let (s, e) = a
        .patch(
            &idea_path(&idea["id"]),
            &carol,
            json!({"title": "Recycled casing"}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let (_, page) = a.get_ap(&idea_ap).await;
    assert_eq!(page["name"], "Recycled casing", "{page}");
    // Its HTML page is at the same URL.
    let html = a
        .http
        .get(&idea_ap)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    // 55 comments and a reply: the thread holds the idea and every one of them, in pages.
    let path = idea_path(&idea["id"]);
    for n in 0..55 {
        let (s, e) = a
            .post(
                &format!("{path}/comments"),
                &staff,
                json!({"body": format!("Comment {n}")}),
            )
            .await;
        assert_eq!(s, 201, "{e}");
    }
    let (_, detail) = a.get(&path, &staff).await;
    let first_comment = detail["comments"][0]["ap_id"].as_str().unwrap().to_string();
    let (s, e) = a
        .post(
            &format!("{path}/comments"),
            &carol,
            json!({"body": "A reply", "in_reply_to": first_comment}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let (_, detail) = a.get(&path, &staff).await;
    let comment_ids: Vec<Value> = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ap_id"].clone())
        .collect();
    assert_eq!(comment_ids.len(), 56);

    let (s, note) = a.get_ap(&first_comment).await;
    assert_eq!(s, 200);
    assert_eq!(note["type"], "Note");
    assert_eq!(note["inReplyTo"], idea_ap.as_str());
    assert_eq!(note["context"], thread.as_str(), "{note}");
    assert_eq!(note["replies"], format!("{first_comment}/replies"));
    assert!(note["attributedTo"].is_string());
    assert_public_in_room(&note, &room);

    let (s, collection) = a.get_ap(&thread).await;
    assert_eq!(s, 200, "{collection}");
    assert_eq!(collection["id"], thread.as_str());
    assert_eq!(collection["type"], "OrderedCollection");
    assert_eq!(collection["attributedTo"], room.as_str(), "FEP-11dd owner");
    assert_eq!(collection["totalItems"], 57);
    assert_eq!(collection["orderedItems"][0], idea_ap.as_str());
    assert_eq!(collection["last"], format!("{thread}?page=2"));
    let items = all_pages(&a, &collection).await;
    let mut expected = vec![Value::String(idea_ap.clone())];
    expected.extend(comment_ids.iter().cloned());
    assert_eq!(
        items, expected,
        "the idea, then every comment, oldest first"
    );
    let (_, page2) = a.get_ap(&format!("{thread}?page=2")).await;
    assert_eq!(page2["prev"], format!("{thread}?page=1"));
    assert!(page2.get("next").is_none(), "{page2}");

    let (s, replies) = a.get_ap(&format!("{idea_ap}/replies")).await;
    assert_eq!(s, 200);
    assert_eq!(replies["totalItems"], 55, "direct replies to the idea");
    let (_, replies) = a.get_ap(&format!("{first_comment}/replies")).await;
    assert_eq!(replies["totalItems"], 1);
    assert_eq!(replies["orderedItems"][0], comment_ids[55]);

    // What the room announced: activities addressed to the public, the room and its
    // followers, with the room as audience; the outbox lists only Announce(activity).
    let (_, outbox) = a.get_ap(&format!("{room}/outbox")).await;
    // The idea's Create and the Update of its title, 55 comments and a reply.
    assert_eq!(outbox["totalItems"], 58, "{}", outbox["totalItems"]);
    for announce in all_pages(&a, &outbox).await {
        assert_eq!(announce["type"], "Announce");
        assert_eq!(announce["actor"], room.as_str());
        assert_public_in_room(&announce, &room);
        let inner = &announce["object"];
        assert!(
            ["Create", "Update", "Delete", "Like", "Undo"]
                .contains(&inner["type"].as_str().unwrap()),
            "{announce}"
        );
        assert_public_in_room(inner, &room);
        assert_public_in_room(&inner["object"], &room);
    }
}

backends!(ideas_and_threads);

async fn paged_outbox_backfill(backend: Backend) {
    let a = Node::start("A", backend).await;
    let b = Node::start("B", backend).await;
    let staff = a.add_user("alice", true);
    let bob = b.add_user("bob", false);
    a.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    for n in 0..120 {
        let (s, e) = a
            .post(
                "/api/v1/rooms/widgets/ideas",
                &staff,
                json!({"title": format!("Idea {n}"), "body": format!("Number {n}")}),
            )
            .await;
        assert_eq!(s, 201, "{e}");
    }
    let outbox_id = format!("{}/r/widgets/outbox", a.base);
    let (_, outbox) = a.get_ap(&outbox_id).await;
    assert_eq!(outbox["totalItems"], 120, "one Announce(Create) per idea");
    assert_eq!(outbox["orderedItems"].as_array().unwrap().len(), 50);
    assert_eq!(outbox["last"], format!("{outbox_id}?page=3"));
    let (_, page2) = a.get_ap(&format!("{outbox_id}?page=2")).await;
    assert_eq!(page2["next"], format!("{outbox_id}?page=3"));
    assert_eq!(page2["prev"], format!("{outbox_id}?page=1"));
    let (_, page3) = a.get_ap(&format!("{outbox_id}?page=3")).await;
    assert_eq!(page3["orderedItems"].as_array().unwrap().len(), 20);
    assert_eq!(
        page3["orderedItems"][19]["object"]["object"]["name"], "Idea 0",
        "newest first"
    );

    // A new follower backfills the whole room, not only the 50 newest.
    let handle = a.handle("widgets");
    let (s, f) = b
        .post("/api/v1/follows", &bob, json!({"handle": handle}))
        .await;
    assert_eq!(s, 201, "{f}");
    b.get_until(
        &format!("/api/v1/ideas?room={}&per_page=500", encode(&handle)),
        &bob,
        60,
        "all 120 ideas reach the follower",
        |s, list| s == 200 && list.as_array().is_some_and(|l| l.len() == 120),
    )
    .await;
}

backends!(paged_outbox_backfill);

/// Waits until every delivery of `node` is done.
async fn settled(node: &Node, staff: &str) {
    assert_all_delivered(node, staff, 30).await;
}

/// The `Announce`s `remote` received whose object has type `kind`.
fn announces_of(remote: &RemoteActor, kind: &str) -> Vec<Value> {
    remote
        .received()
        .into_iter()
        .filter(|a| a["type"] == "Announce" && a["object"]["type"] == kind)
        .collect()
}

async fn follower_software(backend: Backend) {
    let a = Node::start("A", backend).await;
    let staff = a.add_user("alice", true);
    let carol = a.add_user("carol", false);
    a.post(
        "/api/v1/rooms",
        &staff,
        json!({"name": "widgets", "title": "Widgets"}),
    )
    .await;
    let room = format!("{}/r/widgets", a.base);
    let lemmy = RemoteActor::start_as("lemmy_user", "Person", Some("lemmy")).await;
    let mastodon = RemoteActor::start_as("masto", "Person", Some("mastodon")).await;
    let discourse = RemoteActor::start_as("category", "Group", Some("discourse")).await;
    let nodebb = RemoteActor::start_as("forum", "Group", None).await;
    let unknown = RemoteActor::start_as("someone", "Person", None).await;
    let followers = [&lemmy, &mastodon, &discourse, &nodebb, &unknown];
    for f in followers {
        let follow = json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": f.new_id("follow"), "type": "Follow", "actor": f.actor_id, "object": room});
        let (s, body) = f.post_activity(&format!("{room}/inbox"), &follow).await;
        assert_eq!(s, 202, "a Follow from a {}: {body}", f.actor_id);
    }
    settled(&a, &staff).await;
    for f in followers {
        assert!(
            f.received().iter().any(|r| r["type"] == "Accept"),
            "{} is accepted, groups too: {:?}",
            f.actor_id,
            f.received()
        );
    }

    let (s, idea) = a
        .post(
            "/api/v1/rooms/widgets/ideas",
            &carol,
            json!({"title": "Quieter fans", "body": "Slower, larger fans."}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    settled(&a, &staff).await;

    // Lemmy-like: the Announce of the Create only (Lemmy refuses Announce(Page) with a 400).
    let created = announces_of(&lemmy, "Create");
    assert_eq!(created.len(), 1, "{:?}", lemmy.received());
    assert_eq!(created[0]["object"]["object"]["type"], "Page");
    assert_eq!(created[0]["object"]["object"]["id"], idea_ap.as_str());
    assert!(
        announces_of(&lemmy, "Page").is_empty(),
        "{:?}",
        lemmy.received()
    );
    // Mastodon-like: both, the Page to show as a boost.
    assert_eq!(announces_of(&mastodon, "Create").len(), 1);
    let boosted = announces_of(&mastodon, "Page");
    assert_eq!(boosted.len(), 1, "{:?}", mastodon.received());
    assert_eq!(boosted[0]["object"]["id"], idea_ap.as_str());
    assert_eq!(boosted[0]["object"]["summary"], "Slower, larger fans.");
    // A Group of unknown software: activities only; a Person of unknown software: both.
    assert_eq!(announces_of(&nodebb, "Create").len(), 1);
    assert!(announces_of(&nodebb, "Page").is_empty());
    assert_eq!(announces_of(&unknown, "Page").len(), 1);
    // Discourse-like: the idea as an Article, same ids, and never a Page.
    let created = announces_of(&discourse, "Create");
    assert_eq!(created.len(), 1, "{:?}", discourse.received());
    assert_eq!(created[0]["id"], announces_of(&lemmy, "Create")[0]["id"]);
    assert_eq!(created[0]["object"]["object"]["type"], "Article");
    assert_eq!(created[0]["object"]["object"]["id"], idea_ap.as_str());
    assert_eq!(created[0]["object"]["object"]["name"], "Quieter fans");
    assert!(
        !Value::Array(discourse.received())
            .to_string()
            .contains("\"Page\""),
        "{:?}",
        discourse.received()
    );
    // The outbox lists the Announce of the Create, never the one of the Page, which is still
    // served at its id.
    let (_, outbox) = a.get_ap(&format!("{room}/outbox")).await;
    assert_eq!(outbox["totalItems"], 1, "{outbox}");
    assert_eq!(outbox["orderedItems"][0]["object"]["type"], "Create");
    let boost_id = boosted[0]["id"].as_str().unwrap();
    let (s, served) = a.get_ap(boost_id).await;
    assert_eq!(s, 200, "{served}");
    assert_eq!(served["object"]["type"], "Page");

    // A reply from the Mastodon-like server is announced to the others, not back to it.
    let note_id = mastodon.new_id("note");
    let create_id = mastodon.new_id("create");
    let reply = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": create_id, "type": "Create", "actor": mastodon.actor_id,
        "to": [PUBLIC], "cc": [room],
        "object": {"id": note_id, "type": "Note", "attributedTo": mastodon.actor_id,
            "inReplyTo": idea_ap, "content": "<p>Yes please</p>", "to": [PUBLIC], "cc": [room]}});
    let (s, body) = mastodon
        .post_activity(&format!("{room}/inbox"), &reply)
        .await;
    assert_eq!(s, 202, "{body}");
    settled(&a, &staff).await;
    let relayed = |r: &RemoteActor| {
        announces_of(r, "Create")
            .into_iter()
            .any(|an| an["object"]["id"] == create_id.as_str())
    };
    assert!(relayed(&lemmy), "{:?}", lemmy.received());
    assert!(relayed(&discourse));
    assert!(
        !relayed(&mastodon),
        "not announced back: {:?}",
        mastodon.received()
    );
}

backends!(follower_software);

async fn partners_room_the_lemmy_way(backend: Backend) {
    let a = Node::start("A", backend).await;
    let staff = a.add_user("alice", true);
    let (s, e) = a
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "lab", "title": "Lab", "visibility": "partners"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let room = format!("{}/r/lab", a.base);
    let followers = format!("{room}/followers");
    let (_, actor) = a.get_ap(&room).await;
    assert_eq!(actor["manuallyApprovesFollowers"], true);
    assert_eq!(actor["discoverable"], true);

    // A partner's server asks to join; a steward approves.
    let sam = RemoteActor::start_as("sam", "Person", Some("lemmy")).await;
    let join =
        json!({"id": sam.new_id("join"), "type": "Join", "actor": sam.actor_id, "object": room});
    let (s, body) = sam.post_activity(&format!("{room}/inbox"), &join).await;
    assert_eq!(s, 202, "{body}");
    let request = eventually(20, "the request reaches the stewards", || async {
        let (_, list) = a.get("/api/v1/rooms/lab/requests", &staff).await;
        list.as_array()?
            .iter()
            .find(|r| r["actor"] == sam.actor_id.as_str())
            .map(|r| r["id"].clone())
    })
    .await;
    let (s, e) = a
        .post(
            &format!("/api/v1/rooms/lab/requests/{request}/approve"),
            &staff,
            json!({"role": "partner", "partner_kind": "supplier"}),
        )
        .await;
    assert_eq!(s, 204, "{e}");

    let (s, idea) = a
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Cheaper alloy", "body": "Supplier input needed"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    settled(&a, &staff).await;

    // Addressed to the room and its followers, never the public: the idea, its Create and the
    // room's Announce alike.
    let (s, page) = sam.get_signed(&idea_ap).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["to"], json!([followers]));
    assert_eq!(page["cc"], json!([room]));
    assert_eq!(page["audience"], room.as_str());
    let announced = announces_of(&sam, "Create");
    assert_eq!(announced.len(), 1, "{:?}", sam.received());
    for doc in [&announced[0], &announced[0]["object"]] {
        assert_eq!(doc["to"], json!([followers]), "{doc}");
        assert_eq!(doc["cc"], json!([room]), "{doc}");
        assert_eq!(doc["audience"], room.as_str());
    }
    assert!(!Value::Array(sam.received()).to_string().contains(PUBLIC));
    let (s, _) = a.get_ap(&format!("{idea_ap}/context")).await;
    assert_eq!(s, 401, "the thread of a partners idea needs a signature");
    let (s, thread) = sam.get_signed(&format!("{idea_ap}/context")).await;
    assert_eq!(s, 200, "{thread}");
    assert_eq!(thread["orderedItems"], json!([idea_ap]));

    // Lemmy 1.0's follower check, answered to members' nodes.
    let check = |who: &str| format!("{followers}?is_follower={}", encode(who));
    let (s, doc) = sam.get_signed(&check(&sam.actor_id)).await;
    assert_eq!(s, 200, "{doc}");
    let (s, _) = sam.get_signed(&check("http://localhost:9/u/nobody")).await;
    assert_eq!(s, 404);
    let (s, _) = a.get_ap(&check(&sam.actor_id)).await;
    assert_eq!(s, 401, "unsigned");
    let stranger = RemoteActor::start("guess").await;
    let (s, _) = stranger.get_signed(&check(&sam.actor_id)).await;
    assert_eq!(s, 404, "a stranger learns nothing");
}

backends!(partners_room_the_lemmy_way);
