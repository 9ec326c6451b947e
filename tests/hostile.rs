//! Hostile input gets a clear refusal and changes nothing: JSON too deep, a string or an array
//! too long, a body too large (at the inbox and the API); a burst past a rate limit gets `429`
//! with `Retry-After` while other clients and hosts are still served; a blocked host's
//! activities are refused (`403`, counted `refused`), its actors cannot be followed, nothing
//! is delivered to it, and lifting the block restores all of it.

mod common;

use std::net::IpAddr;

use common::remote::RemoteActor;
use common::*;
use serde_json::{json, Value};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// An HTTP client whose requests come from `ip` (all of 127/8 is loopback on Linux).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A request to `node` from `client`; status, `Retry-After` and JSON body.
async fn send(
    client: &reqwest::Client,
    node: &Node,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = client
        .request(method, format!("{}{path}", node.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        retry_after,
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text })),
    )
}

/// POSTs a signed activity from `remote` to `inbox` through `client`.
async fn post_signed_from(
    client: &reqwest::Client,
    remote: &RemoteActor,
    inbox: &str,
    activity: &Value,
) -> (StatusCode, Option<String>, String) {
    let body = activity.to_string();
    let mut req = client
        .post(inbox)
        .header("content-type", "application/activity+json")
        .body(body.clone());
    for (k, v) in remote.signed_headers(inbox, body.as_bytes()) {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, resp.text().await.unwrap_or_default())
}

/// `levels` arrays inside each other around `1`.
fn nested(levels: usize) -> Value {
    let text = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    serde_json::from_str::<Value>(&text).unwrap()
}

async fn idea_counts(node: &Node, token: &str, idea: &Value) -> (i64, i64) {
    let (s, i) = node.get(&idea_path(&idea["id"]), token).await;
    assert_eq!(s, 200, "{i}");
    (
        i["support_count"].as_i64().unwrap(),
        i["comments"].as_array().map(|c| c.len() as i64).unwrap(),
    )
}

async fn metrics(node: &Node) -> String {
    reqwest::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A room `lab` with one idea; the staff token and the idea.
async fn room_with_idea(node: &Node) -> (String, Value) {
    let staff = node.add_user("alice", true);
    let (s, r) = node
        .post(
            "/api/v1/rooms",
            &staff,
            json!({"name": "lab", "title": "Lab"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, idea) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Quieter fan", "body": "x"}),
        )
        .await;
    assert_eq!(s, 201, "{idea}");
    (staff, idea)
}

async fn oversized_and_misshapen_json_is_refused(backend: Backend) {
    let node = Node::start("A", backend).await;
    let (staff, idea) = room_with_idea(&node).await;
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let remote = RemoteActor::start("mallory").await;
    let inbox = format!("{}/inbox", node.base);
    // A reply that the node would store, with one hostile part.
    let reply = |extra: (&str, Value)| {
        let mut note = json!({"id": remote.new_id("note"), "type": "Note", "attributedTo": remote.actor_id,
            "inReplyTo": idea_ap, "content": "<p>a comment</p>", "to": [PUBLIC]});
        note[extra.0] = extra.1;
        json!({"id": remote.new_id("create"), "type": "Create", "actor": remote.actor_id, "object": note, "to": [PUBLIC]})
    };

    // Inbox: 40 levels (under serde_json's own 128), a 300 KiB string, 6,000 entries.
    let cases: [(&str, Value, &str); 3] = [
        ("deep", reply(("attachment", nested(40))), "levels"),
        (
            "long string",
            reply(("content", json!("a".repeat(300 * 1024)))),
            "bytes",
        ),
        (
            "long array",
            reply((
                "cc",
                json!((0..6000)
                    .map(|i| format!("https://x.example/u/{i}"))
                    .collect::<Vec<_>>()),
            )),
            "entries",
        ),
    ];
    for (what, activity, names) in &cases {
        let (s, text) = remote.post_activity(&inbox, activity).await;
        assert_eq!(s, 400, "{what}: {text}");
        assert!(
            text.contains("refused before parsing") && text.contains(names),
            "{what}: {text}"
        );
    }
    let huge = format!(
        "{{\"id\": \"x\", \"content\": \"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (s, text) = remote.post_signed(&inbox, huge.as_bytes()).await;
    assert_eq!(s, 413, "oversized: {text}");
    // The same reply without its hostile part is stored: the refusals were the limits'.
    assert_eq!(idea_counts(&node, &staff, &idea).await, (0, 0));
    let (s, text) = remote
        .post_activity(&inbox, &reply(("summary", json!("fine"))))
        .await;
    assert_eq!(s, 202, "{text}");
    assert_eq!(idea_counts(&node, &staff, &idea).await, (0, 1));

    // API: the same limits on a JSON body, before anything is parsed or stored.
    let (s, list) = node.get("/api/v1/rooms/lab/ideas", &staff).await;
    assert_eq!(s, 200);
    let before = list.as_array().map(Vec::len);
    let ideas = "/api/v1/rooms/lab/ideas";
    let api_cases = [
        (
            "deep",
            json!({"title": "Deep", "body": "x", "tags": nested(40)}),
            "levels",
        ),
        (
            "long string",
            json!({"title": "Long", "body": "b".repeat(300 * 1024)}),
            "bytes",
        ),
        (
            "long array",
            json!({"title": "Wide", "body": "x", "tags": vec![1; 6000]}),
            "entries",
        ),
    ];
    for (what, body, names) in api_cases {
        let (s, e) = node.post(ideas, &staff, body).await;
        assert_eq!(s, 400, "{what}: {e}");
        let msg = e["error"].as_str().unwrap_or_default();
        assert!(msg.contains(names) && e["status"] == 400, "{what}: {e}");
    }
    let client = reqwest::Client::new();
    let (s, _, e) = send(
        &client,
        &node,
        reqwest::Method::POST,
        ideas,
        &staff,
        Some(
            format!(
                "{{\"title\": \"Big\", \"body\": \"{}\"}}",
                "c".repeat(2 << 20)
            )
            .into_bytes(),
        ),
    )
    .await;
    assert_eq!(s, 413, "{e}");
    assert_eq!(e["status"], 413, "{e}");
    let (_, list) = node.get("/api/v1/rooms/lab/ideas", &staff).await;
    assert_eq!(list.as_array().map(Vec::len), before, "no idea was stored");
}

backends!(json_limits => oversized_and_misshapen_json_is_refused);

async fn bursts_past_rate_limits_get_429(backend: Backend) {
    let node = Node::start_with_config(
        "A",
        backend,
        "rate_limit_api_per_ip = 5\nrate_limit_inbox_per_ip = 6\nrate_limit_inbox_per_host = 3\n",
    )
    .await;
    // Setup from an address of its own, so the others' buckets start full.
    let setup = client_from("127.0.0.9");
    let staff = node.add_user("alice", true);
    let (s, _, r) = send(
        &setup,
        &node,
        reqwest::Method::POST,
        "/api/v1/rooms",
        &staff,
        Some(
            json!({"name": "lab", "title": "Lab"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    assert_eq!(s, 201, "{r}");

    // API, per client address: five requests, then 429 with Retry-After and a JSON error.
    let first = client_from("127.0.0.1");
    for i in 0..5 {
        let (s, _, body) = send(
            &first,
            &node,
            reqwest::Method::GET,
            "/api/v1/me",
            &staff,
            None,
        )
        .await;
        assert_eq!(s, 200, "request {i}: {body}");
    }
    let (s, retry_after, body) = send(
        &first,
        &node,
        reqwest::Method::GET,
        "/api/v1/me",
        &staff,
        None,
    )
    .await;
    assert_eq!(s, 429, "{body}");
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=12).contains(&secs), "{secs}");
    assert_eq!(body["status"], 429);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("at most 5 API and form requests a minute"),
        "{body}"
    );
    // A throttled write changes nothing.
    let (s, _, _) = send(
        &first,
        &node,
        reqwest::Method::POST,
        "/api/v1/rooms",
        &staff,
        Some(
            json!({"name": "lab2", "title": "Lab 2"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    assert_eq!(s, 429);
    // Another client is served, and so are pages to the throttled one.
    let second = client_from("127.0.0.2");
    let (s, _, me) = send(
        &second,
        &node,
        reqwest::Method::GET,
        "/api/v1/me",
        &staff,
        None,
    )
    .await;
    assert_eq!(s, 200, "{me}");
    let page = first
        .get(format!("{}/r/lab", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let (s, _, room) = send(
        &setup,
        &node,
        reqwest::Method::GET,
        "/api/v1/rooms/lab2",
        &staff,
        None,
    )
    .await;
    assert_eq!(s, 404, "the throttled POST created nothing: {room}");

    // Inbox, per remote host: three activities, then 429; another host is still served.
    let (s, _, idea) = send(
        &setup,
        &node,
        reqwest::Method::POST,
        "/api/v1/rooms/lab/ideas",
        &staff,
        Some(
            json!({"title": "Fan", "body": "x"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    assert_eq!(s, 201, "{idea}");
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let inbox = format!("{}/inbox", node.base);
    let noisy = RemoteActor::start("noisy").await;
    let quiet = RemoteActor::start("quiet").await;
    let like = |r: &RemoteActor| json!({"id": r.new_id("like"), "type": "Like", "actor": r.actor_id, "object": idea_ap});
    // Each from its own address, so that only the per-host limit is in play.
    for i in 0..3 {
        let from = client_from(&format!("127.0.1.{}", i + 1));
        let (s, _, text) = post_signed_from(&from, &noisy, &inbox, &like(&noisy)).await;
        assert_eq!(s, 202, "activity {i}: {text}");
    }
    let undo = json!({"id": noisy.new_id("undo"), "type": "Undo", "actor": noisy.actor_id,
        "object": {"id": "x", "type": "Like", "actor": noisy.actor_id, "object": idea_ap}});
    let (s, retry_after, text) =
        post_signed_from(&client_from("127.0.1.9"), &noisy, &inbox, &undo).await;
    assert_eq!(s, 429, "{text}");
    assert!(retry_after.is_some(), "{text}");
    assert!(
        text.contains("inbox requests a minute from one host"),
        "{text}"
    );
    let (s, _, text) =
        post_signed_from(&client_from("127.0.1.10"), &quiet, &inbox, &like(&quiet)).await;
    assert_eq!(s, 202, "another host: {text}");
    let (_, _, i) = send(
        &setup,
        &node,
        reqwest::Method::GET,
        &idea_path(&idea["id"]),
        &staff,
        None,
    )
    .await;
    assert_eq!(
        i["support_count"], 2,
        "the throttled Undo changed nothing: {i}"
    );

    // Inbox, per client address: six requests from one address (any host), then 429; another
    // address is still served.
    let hosts: Vec<RemoteActor> = {
        let mut v = Vec::new();
        for n in 0..3 {
            v.push(RemoteActor::start(&format!("r{n}")).await);
        }
        v
    };
    let crowded = client_from("127.0.2.1");
    for i in 0..6 {
        let r = &hosts[i % 3];
        let (s, _, text) = post_signed_from(&crowded, r, &inbox, &like(r)).await;
        assert_eq!(s, 202, "request {i}: {text}");
    }
    let (s, retry_after, text) = post_signed_from(&crowded, &quiet, &inbox, &like(&quiet)).await;
    assert_eq!(s, 429, "{text}");
    assert!(retry_after.is_some());
    assert!(text.contains("from one client address"), "{text}");
    let (s, _, text) =
        post_signed_from(&client_from("127.0.2.2"), &quiet, &inbox, &like(&quiet)).await;
    assert_eq!(s, 202, "another address: {text}");
    assert!(
        metrics(&node).await.contains(r#"result="rejected""#),
        "throttled inbox requests are counted"
    );
}

backends!(rate_limits => bursts_past_rate_limits_get_429);

async fn a_blocked_host_is_refused_everything(backend: Backend) {
    let node = Node::start("A", backend).await;
    let (staff, idea) = room_with_idea(&node).await;
    let member = node.add_user("bob", false);
    let idea_ap = idea["ap_id"].as_str().unwrap().to_string();
    let remote = RemoteActor::start("spammer").await;
    let inbox = format!("{}/inbox", node.base);
    let room_ap = format!("{}/r/lab", node.base);

    // The remote server follows the room: the node delivers to it.
    let follow = json!({"id": remote.new_id("follow"), "type": "Follow", "actor": remote.actor_id, "object": room_ap});
    let (s, text) = remote.post_activity(&inbox, &follow).await;
    assert_eq!(s, 202, "{text}");
    eventually(30, "the Accept of the Follow", || async {
        remote
            .received()
            .iter()
            .any(|a| a["type"] == "Accept")
            .then_some(())
    })
    .await;
    assert_all_delivered(&node, &staff, 30).await;

    // Blocked at the command line, with the serve flags.
    let out = node.cli(&["block", "add", &remote.domain, "--reason", "spam"]);
    assert!(out.contains(&format!("blocked {}", remote.domain)), "{out}");
    let list: Value = serde_json::from_str(&node.cli(&["block", "list"])).unwrap();
    assert_eq!(list[0]["host"], remote.domain.as_str(), "{list}");
    assert_eq!(list[0]["reason"], "spam", "{list}");

    // Its activities: 403 with the reason, counted `refused`, nothing stored.
    let like = || json!({"id": remote.new_id("like"), "type": "Like", "actor": remote.actor_id, "object": idea_ap});
    let (s, text) = remote.post_activity(&inbox, &like()).await;
    assert_eq!(s, 403, "{text}");
    assert!(
        text.contains(&format!("activities from {} are refused", remote.domain)),
        "{text}"
    );
    assert!(
        !text.contains("spam\""),
        "the reason is for staff only: {text}"
    );
    // Unsigned, the claim alone is refused the same way, before any signature work.
    let (s, text) = remote
        .post_with_headers(&inbox, like().to_string().as_bytes(), &[])
        .await;
    assert_eq!(s, 403, "{text}");
    assert_eq!(idea_counts(&node, &staff, &idea).await, (0, 0));
    assert!(
        metrics(&node)
            .await
            .contains(r#"cocreate_inbox_activities_total{type="Like",result="refused"} 2"#),
        "refusals of a blocked host are counted"
    );

    // A follow of a handle on the blocked host is refused without contacting it.
    let before = remote.requests().len();
    let (s, e) = node
        .post(
            "/api/v1/follows",
            &member,
            json!({"handle": format!("spammer@{}", remote.domain)}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains(&format!("this node blocks {}", remote.domain)),
        "{e}"
    );

    // Nothing is delivered to it: the announce of a new idea is refused, as final.
    let (s, second) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Second idea", "body": "y"}),
        )
        .await;
    assert_eq!(s, 201, "{second}");
    node.get_until(
        "/api/v1/admin/deliveries",
        &staff,
        30,
        "the refused delivery recorded as failed",
        |_, d| d.get("failed").is_some() && d.get("pending").is_none(),
    )
    .await;
    assert_eq!(
        remote.requests().len(),
        before,
        "the blocked host was not contacted"
    );

    // The admin API: staff only.
    let (s, e) = node.get("/api/v1/admin/blocks", &member).await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = node
        .post(
            "/api/v1/admin/blocks",
            &member,
            json!({"host": "other.example"}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    let (s, list) = node.get("/api/v1/admin/blocks", &staff).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (s, b) = node
        .post(
            "/api/v1/admin/blocks",
            &staff,
            json!({"host": "https://Other.Example/users/x", "reason": "abuse"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["host"], "other.example");
    let (s, _) = node
        .post(
            "/api/v1/admin/blocks",
            &staff,
            json!({"host": "other.example"}),
        )
        .await;
    assert_eq!(s, 200, "blocking twice keeps one block");
    let (s, e) = node
        .post("/api/v1/admin/blocks", &staff, json!({"host": node.domain}))
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("own domain"), "{e}");
    let (s, _) = node
        .delete("/api/v1/admin/blocks/other.example", &staff)
        .await;
    assert_eq!(s, 204);
    let (s, e) = node
        .delete("/api/v1/admin/blocks/other.example", &staff)
        .await;
    assert_eq!(s, 404, "{e}");

    // `block remove` restores everything.
    let out = node.cli(&["block", "remove", &remote.domain]);
    assert!(out.contains("unblocked"), "{out}");
    let (s, text) = remote.post_activity(&inbox, &like()).await;
    assert_eq!(s, 202, "{text}");
    assert_eq!(idea_counts(&node, &staff, &idea).await, (1, 0));
    let (s, third) = node
        .post(
            "/api/v1/rooms/lab/ideas",
            &staff,
            json!({"title": "Third idea", "body": "z"}),
        )
        .await;
    assert_eq!(s, 201, "{third}");
    let third_ap = third["ap_id"].as_str().unwrap().to_string();
    eventually(30, "the announce of the third idea", || async {
        remote
            .received()
            .iter()
            .any(|a| a.to_string().contains(&third_ap))
            .then_some(())
    })
    .await;
    let second_ap = second["ap_id"].as_str().unwrap();
    assert!(
        !remote
            .received()
            .iter()
            .any(|a| a.to_string().contains(second_ap)),
        "what was refused during the block is not sent afterwards"
    );
}

backends!(blocks => a_blocked_host_is_refused_everything);

async fn behind_a_trusted_proxy_clients_are_told_apart(backend: Backend) {
    let node = Node::start_with_config(
        "A",
        backend,
        "rate_limit_api_per_ip = 2\ntrusted_proxies = [\"127.0.0.1\"]\n",
    )
    .await;
    let staff = node.add_user("alice", true);
    let proxy = client_from("127.0.0.1");
    let me = |forwarded: &'static str, client: &reqwest::Client| {
        client
            .get(format!("{}/api/v1/me", node.base))
            .bearer_auth(&staff)
            .header("x-forwarded-for", forwarded)
            .send()
    };
    // Through the proxy: the client named by X-Forwarded-For is counted.
    for _ in 0..2 {
        assert_eq!(me("203.0.113.1", &proxy).await.unwrap().status(), 200);
    }
    let r = me("203.0.113.1", &proxy).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("(203.0.113.1)"));
    assert_eq!(me("203.0.113.2", &proxy).await.unwrap().status(), 200);
    // Any other peer is counted by its own address, whatever header it sends.
    let direct = client_from("127.0.0.5");
    for _ in 0..2 {
        assert_eq!(me("203.0.113.9", &direct).await.unwrap().status(), 200);
    }
    let r = me("203.0.113.10", &direct).await.unwrap();
    assert_eq!(
        r.status(),
        429,
        "a forged X-Forwarded-For does not buy a new bucket"
    );
    assert!(r.text().await.unwrap().contains("(127.0.0.5)"));
}

backends!(trusted_proxies => behind_a_trusted_proxy_clients_are_told_apart);
