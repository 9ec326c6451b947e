//! The pages of local actors opened in a browser at their ActivityPub id: people and the
//! organisation here; rooms get their board from [`super::room`].

use askama::Template;
use axum::http::HeaderMap;
use axum::response::Response;

use super::i18n::Tr;
use super::{render, Me, Preview, PITCH_CHARS};
use crate::service::ideas::{self, IdeaDetail};
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
    is_room: bool,
    ideas: Vec<IdeaDetail>,
}

/// The page of a local actor (a person, a room with its ideas, the organisation), for
/// browsers that open its ActivityPub id.
pub async fn actor_page(ctx: &Ctx, headers: &HeaderMap, actor: &Actor) -> Response {
    let ideas = if actor.is_room() {
        ideas::list_room(ctx, None, actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    render(&ActorPage {
        tr: Tr::from_headers(headers),
        me: None,
        preview: Preview {
            kind: "profile",
            title: actor.display_name.clone(),
            description: crate::domain::text::pitch(&actor.summary, PITCH_CHARS),
            url: actor.ap_id.clone(),
            site: ctx.settings.org_display_name.clone(),
            creator: (actor.kind == crate::domain::kinds::ActorKind::Person)
                .then(|| format!("@{}", actor.handle())),
        },
        actor,
        handle: actor.handle(),
        is_room: actor.is_room(),
        ideas,
    })
}
