//! The home page: the organisation, its rooms with their phase, the remote rooms this node
//! follows, and the form to follow one by handle.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::i18n::Tr;
use super::session::Visitor;
use super::{error_page, me_of, refused, render, Me};
use crate::service::{accounts, follows, rooms};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/", get(home))
        .route("/follow", post(follow))
}

/// A room of this node on the home page.
struct RoomItem {
    url: String,
    title: String,
    summary: String,
    handle: String,
    phase: String,
    ideas: i64,
    /// The day its ideas last changed, `YYYY-MM-DD`.
    latest: Option<String>,
    visibility_key: &'static str,
}

/// A followed room of another node on the home page.
struct RemoteRoomItem {
    url: String,
    title: String,
    handle: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    tr: Tr,
    me: Option<Me>,
    title: String,
    rooms: Vec<RoomItem>,
    followed: Vec<RemoteRoomItem>,
}

async fn home(State(ctx): State<Ctx>, headers: HeaderMap, visitor: Visitor) -> Response {
    // ActivityPub clients asking for the site root get the instance actor.
    if crate::federation::routes::wants_activitypub(&headers) {
        return crate::federation::routes::instance_actor_json(&ctx).await;
    }
    let tr = Tr::from_headers(&headers);
    let page = async {
        let org = accounts::organization(&ctx).await?;
        let rooms = rooms::overview(&ctx).await?;
        let followed = rooms::followed_remote(&ctx).await?;
        Ok::<_, crate::error::Error>(HomePage {
            title: tr.t1("home-title", "org", &org.display_name),
            rooms: rooms
                .into_iter()
                .map(|r| RoomItem {
                    visibility_key: match r.visibility {
                        crate::domain::Visibility::Public => "visibility-public",
                        crate::domain::Visibility::Partners => "visibility-partners",
                        crate::domain::Visibility::Private => "visibility-private",
                    },
                    url: r.url,
                    title: r.title,
                    summary: r.summary,
                    handle: r.handle,
                    phase: r.phase,
                    ideas: r.ideas,
                    latest: r.latest.map(|t| t.format("%Y-%m-%d").to_string()),
                })
                .collect(),
            followed: followed
                .into_iter()
                .map(|a| RemoteRoomItem {
                    handle: a.handle(),
                    url: a.ap_id,
                    title: a.display_name,
                })
                .collect(),
            tr: tr.clone(),
            me: me_of(&visitor),
        })
    }
    .await;
    match page {
        Ok(p) => render(&p),
        Err(e) => error_page(&tr, e.status(), Some(&e.to_string())),
    }
}

#[derive(Deserialize)]
struct FollowForm {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    csrf: String,
}

/// Follows a room of another node by handle, for the signed-in person.
async fn follow(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<FollowForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let user = super::signed_form!(visitor, &form.csrf, tr);
    match follows::follow(&ctx, user, form.handle.trim()).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => refused(&tr, e),
    }
}
