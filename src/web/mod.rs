//! Minimal pages for people who open an actor or idea URL in a browser. Pages only render what
//! the services hand them; what a reader may see is decided there.

use axum::response::{Html, IntoResponse, Response};

use crate::service::ideas::{self, IdeaDetail};
use crate::state::Ctx;
use crate::store::models::Actor;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        escape(title)
    ))
    .into_response()
}

pub async fn actor_page(ctx: &Ctx, actor: &Actor) -> Response {
    let mut body = format!(
        "<h1>{}</h1><p>@{}</p><div>{}</div>",
        escape(&actor.display_name),
        escape(&actor.handle()),
        actor.summary
    );
    if actor.is_room() {
        let room = actor.clone();
        if let Ok(list) = ideas::list_room(ctx, None, &room).await {
            body.push_str("<ul>");
            for i in list {
                body.push_str(&format!(
                    "<li><a href=\"{}\">{}</a> ({}, {} supports)</li>",
                    escape(&i.ap_id),
                    escape(&i.title),
                    escape(&i.stage),
                    i.support_count
                ));
            }
            body.push_str("</ul>");
        }
    }
    page(&actor.display_name, &body)
}

/// The page of an idea the reader may see, with its comments.
pub fn idea_page(d: &IdeaDetail) -> Response {
    let mut body = format!(
        "<h1>{}</h1><p>Stage: {}{}</p><p>{} supports · in <a href=\"{}\">{}</a></p><div>{}</div><h2>Comments</h2>",
        escape(&d.title),
        escape(&d.stage),
        d.stage_answer.as_deref().map(|a| format!(" — {}", escape(a))).unwrap_or_default(),
        d.support_count,
        escape(&d.room.ap_id),
        escape(&d.room.title),
        d.content
    );
    for c in d.comments.iter().filter(|c| !c.deleted) {
        body.push_str(&format!(
            "<div><p><small>{}</small></p>{}</div>",
            escape(&c.author),
            c.content
        ));
    }
    page(&d.title, &body)
}
