//! What other servers look up first: WebFinger for every actor (rooms included, marked as
//! Groups), NodeInfo 2.1 naming the software and the instance actor (FEP-2677), the instance
//! actor by WebFinger on the host (FEP-d556) and at the site root, actor documents served as
//! exactly `application/activity+json` with `id` equal to the URL, the FEP-1b12 fields of a
//! room as Lemmy reads them, and pages for browsers at the same URLs.

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
    assert_eq!(actor["discoverable"], false, "a private room is not listed");
    let (s, _) = node
        .get_ap(&format!("{}/r/secret/moderators", node.base))
        .await;
    assert_eq!(
        s, 401,
        "a private room's stewards need a member's signature"
    );
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
        let self_link = jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap()
            .clone();
        // Lemmy tells a community from a user of the same name by this property.
        assert_eq!(
            self_link["properties"]["https://www.w3.org/ns/activitystreams#type"], kind,
            "{jrd}"
        );
        let href = self_link["href"].as_str().unwrap().to_string();
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
        // FEP-2c59: the actor names its WebFinger address.
        assert_eq!(
            actor["webfinger"],
            format!("{handle}@{}", node.domain),
            "{actor}"
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
    // FEP-2677: NodeInfo also names the instance actor.
    let instance = format!("{}/actor", node.base);
    assert!(
        links["links"].as_array().unwrap().iter().any(|l| l["rel"]
            == "https://www.w3.org/ns/activitystreams#Application"
            && l["href"] == instance.as_str()),
        "{links}"
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

    // The instance actor signs fetches and is served unsigned too; it says what the node
    // speaks (FEP-844e).
    let (s, inst) = node.get_ap(&format!("{}/actor", node.base)).await;
    assert_eq!(s, 200);
    assert_eq!(inst["type"], "Application");
    assert!(
        inst["implements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["href"] == "https://datatracker.ietf.org/doc/html/rfc9421"),
        "{inst}"
    );
    // FEP-d556: WebFinger on the server's own URL names the instance actor.
    for resource in [node.base.clone(), format!("{}/", node.base)] {
        let jrd: Value = node
            .http
            .get(format!(
                "{}/.well-known/webfinger?resource={}",
                node.base,
                encode(&resource)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jrd["subject"], resource.as_str(), "{jrd}");
        let self_link = jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .cloned()
            .unwrap();
        assert_eq!(self_link["href"], instance.as_str(), "{jrd}");
        assert_eq!(self_link["type"], "application/activity+json");
    }
    // The site root answers ActivityPub requests with the instance actor (Lemmy asks there),
    // and browsers with the home page.
    let (s, root) = node.get_ap(&format!("{}/", node.base)).await;
    assert_eq!(s, 200);
    assert_eq!(root["id"], instance.as_str(), "{root}");
    assert_eq!(root["type"], "Application");
    let home = node
        .http
        .get(format!("{}/", node.base))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    // A room as FEP-1b12 servers read it: outbox, followers, featured, its moderators as
    // `attributedTo`, who may post, whether follows need approval, whether it is listed.
    let room_id = format!("{}/r/widgets", node.base);
    let (_, room) = node.get_ap(&room_id).await;
    assert_eq!(room["outbox"], format!("{room_id}/outbox"));
    assert_eq!(room["followers"], format!("{room_id}/followers"));
    assert_eq!(room["featured"], format!("{room_id}/featured"));
    assert_eq!(room["attributedTo"], format!("{room_id}/moderators"));
    assert_eq!(room["postingRestrictedToMods"], false);
    assert_eq!(room["manuallyApprovesFollowers"], false);
    assert_eq!(room["discoverable"], true);
    let (s, mods) = node.get_ap(&format!("{room_id}/moderators")).await;
    assert_eq!(s, 200);
    assert_eq!(mods["type"], "OrderedCollection");
    assert_eq!(
        mods["orderedItems"],
        json!([format!("{}/u/alice", node.base)]),
        "the room's creator stewards it: {mods}"
    );
    let (s, featured) = node.get_ap(&format!("{room_id}/featured")).await;
    assert_eq!(s, 200);
    assert_eq!(featured["type"], "OrderedCollection");
    assert_eq!(featured["totalItems"], 0);

    // The room's outbox lists the activities it announced, newest first, and links its pages.
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
        .all(|a| a["type"] == "Announce" && a["object"]["type"] == "Create"));
    assert_eq!(
        outbox["totalItems"], 1,
        "only the Announce of the Create: {outbox}"
    );
    assert_eq!(outbox["first"], format!("{room_id}/outbox?page=1"));
    let (s, e) = node
        .get_ap(&format!("{}/r/widgets/outbox?page=zero", node.base))
        .await;
    assert_eq!(s, 400, "{e}");
}

backends!(discovery);
