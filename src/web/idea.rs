//! An idea's page (served to browsers at its ActivityPub id): the official answer on top, the
//! description, the thread, and the forms to support and to comment.

use askama::Template;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;

use super::i18n::Tr;
use super::{render, Me, Preview, PITCH_CHARS};
use crate::service::ideas::{CommentView, IdeaDetail};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
}

#[derive(Template)]
#[template(path = "idea.html")]
struct IdeaPage<'a> {
    tr: Tr,
    me: Option<Me>,
    preview: Preview,
    idea: &'a IdeaDetail,
    comments: Vec<&'a CommentView>,
}

/// The page of an idea the reader may see, with its comments; `site` is the organisation
/// hosting it, named in its link preview.
pub fn idea_page(headers: &HeaderMap, site: &str, idea: &IdeaDetail) -> Response {
    let room = &idea.room.title;
    render(&IdeaPage {
        tr: Tr::from_headers(headers),
        me: None,
        preview: Preview {
            kind: "article",
            title: format!("{} · {room}", idea.title),
            description: crate::domain::text::pitch(&idea.content, PITCH_CHARS),
            url: idea.ap_id.clone(),
            site: site.to_string(),
            creator: None,
        },
        idea,
        comments: idea.comments.iter().filter(|c| !c.deleted).collect(),
    })
}
