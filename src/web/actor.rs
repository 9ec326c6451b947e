//! The pages of local actors opened in a browser at their ActivityPub id: people and the
//! organisation here; rooms get their board from [`super::room`].

use askama::Template;
use axum::http::HeaderMap;
use axum::response::Response;

use super::i18n::Tr;
use super::session::Visitor;
use super::{me_of, refused, render, Me, Preview, PITCH_CHARS};
use crate::domain::kinds::ActorKind;
use crate::state::Ctx;
use crate::store::models::Actor;

#[derive(Template)]
#[template(path = "actor.html")]
struct ActorPage<'a> {
    tr: Tr,
    me: Option<Me>,
    preview: Preview,
    actor: &'a Actor,
    handle: String,
}

/// The page of a local actor (a person, a room with its ideas, the organisation), for
/// browsers that open its ActivityPub id; `query` is the URL's query string.
pub async fn actor_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    query: Option<&str>,
    actor: &Actor,
) -> Response {
    if actor.is_room() {
        return super::room::room_page(ctx, headers, query, actor).await;
    }
    let tr = Tr::from_headers(headers);
    let visitor = match Visitor::from_headers(ctx, headers).await {
        Ok(v) => v,
        Err(e) => return refused(&tr, e),
    };
    render(&ActorPage {
        me: me_of(&visitor),
        preview: Preview {
            kind: "profile",
            title: actor.display_name.clone(),
            description: crate::domain::text::pitch(&actor.summary, PITCH_CHARS),
            url: actor.ap_id.clone(),
            site: ctx.settings.org_display_name.clone(),
            creator: (actor.kind == ActorKind::Person).then(|| format!("@{}", actor.handle())),
        },
        actor,
        handle: actor.handle(),
        tr,
    })
}
