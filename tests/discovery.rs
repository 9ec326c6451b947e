//! What other servers look up first: WebFinger for every actor (rooms included), NodeInfo 2.1,
//! actor documents served as exactly `application/activity+json` with `id` equal to the URL,
//! and pages for browsers at the same URLs.

mod common;

use common::*;
use serde_json::{json, Value};

async fn discovery(backend: Backend) {
    let node = Node::start("A", backend).await;
    let staff = node.add_user("alice", true);
    let (s, _) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "widgets", "title": "Widgets"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "alice", "title": "Clash"}),
        )
        .await;
    assert_eq!(s, 409, "room and person names share one namespace: {e}");
    let (s, e) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "secret", "title": "S", "visibility": "private"}),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let (s, e) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "odd", "title": "O", "visibility": "secret"}),
        )
        .await;
    assert_eq!(s, 400, "unknown visibility: {e}");
    // A private room's collections need a member's signature; its actor stays discoverable.
    let (s, _) = node
        .get_ap(&format!("{}/r/secret/followers", node.base))
        .await;
    assert_eq!(s, 401);
    let (s, actor) = node.get_ap(&format!("{}/r/secret", node.base)).await;
    assert_eq!(s, 200);
    assert_eq!(actor["manuallyApprovesFollowers"], true);
    let (s, e) = node
        .post("/api/v1/rooms", &staff, json!({"name": "x"}))
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("title"), "{e}");
    let (s, e) = node.get("/api/v1/rooms", "wrong-token").await;
    assert_eq!(s, 401, "{e}");

    let (_, org) = node.get("/api/v1/organization", &staff).await;
    for (handle, kind) in [
        ("alice", "Person"),
        ("widgets", "Group"),
        (
            org["handle"].as_str().unwrap().split('@').next().unwrap(),
            "Organization",
        ),
    ] {
        let url = format!(
            "{}/.well-known/webfinger?resource=acct:{handle}@{}",
            node.base, node.domain
        );
        let resp = node.http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "webfinger {handle}");
        assert_eq!(resp.headers()["content-type"], "application/jrd+json");
        let jrd: Value = resp.json().await.unwrap();
        let href = jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string();
        let resp = node
            .http
            .get(&href)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-type"], "application/activity+json");
        let actor: Value = resp.json().await.unwrap();
        assert_eq!(actor["id"], href.as_str(), "id equals the URL fetched");
        assert_eq!(actor["type"], kind);
        assert!(actor["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY"));
        assert_eq!(
            actor["endpoints"]["sharedInbox"],
            format!("{}/inbox", node.base)
        );
        let page = node
            .http
            .get(&href)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert!(page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let missing = node
        .http
        .get(format!(
            "{}/.well-known/webfinger?resource=acct:nobody@{}",
            node.base, node.domain
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let links: Value = node
        .http
        .get(format!("{}/.well-known/nodeinfo", node.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = links["links"][0]["href"].as_str().unwrap();
    assert_eq!(
        links["links"][0]["rel"],
        "http://nodeinfo.diaspora.software/ns/schema/2.1"
    );
    let info: Value = node
        .http
        .get(href)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "cocreate");
    assert_eq!(info["protocols"], json!(["activitypub"]));
    assert_eq!(info["usage"]["users"]["total"], 1);

    // The instance actor signs fetches and is served unsigned too.
    let (s, inst) = node.get_ap(&format!("{}/actor", node.base)).await;
    assert_eq!(s, 200);
    assert_eq!(inst["type"], "Application");

    // The room's outbox lists what it announced, newest first.
    node.post(
        "/api/v1/rooms/widgets/ideas",
        &staff,
        json!({"title": "One", "body": ""}),
    )
    .await;
    let (s, outbox) = node
        .get_ap(&format!("{}/r/widgets/outbox", node.base))
        .await;
    assert_eq!(s, 200);
    assert_eq!(outbox["type"], "OrderedCollection");
    assert!(outbox["orderedItems"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["type"] == "Announce"));
    assert_eq!(
        outbox["totalItems"], 2,
        "the Announce of the Create and of the Page: {outbox}"
    );
}

backends!(discovery);
