//! Signing in and out: the sign-in form with its double-submit token, the session cookie, and
//! the page to return to after signing in (`next`: a path on this node, nothing else).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::i18n::Tr;
use super::session::{self, Visitor, FORM_COOKIE, SESSION_COOKIE};
use super::{me_of, refused, render, set_cookie, Me};
use crate::error::Error;
use crate::service::{accounts, sessions};
use crate::state::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/login", get(login).post(sign_in))
        .route("/logout", post(sign_out))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    me: Option<Me>,
    username: String,
    error: Option<String>,
    form_token: String,
    /// Where to go once signed in (a path on this node), or empty.
    next: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// The sign-in page; its form carries a fresh token, also set as a short-lived cookie, and the
/// page to return to (`?next=`) when it is a path on this node.
async fn login(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Query(q): Query<LoginQuery>,
) -> Response {
    login_page(
        &ctx,
        Tr::from_headers(&headers),
        &visitor,
        String::new(),
        &q.next,
        None,
    )
}

/// Where to go after signing in: `next` when it is a path on this node (`/...`), never another
/// server (`//host`, `/\host` and `https://host` are what browsers read as one).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2048;
    ok.then_some(next)
}

fn login_page(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    username: String,
    next: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (form_token, _) = accounts::new_token();
    let status = error.as_ref().map(|(s, _)| *s).unwrap_or(StatusCode::OK);
    let mut resp = render(&LoginPage {
        tr,
        me: me_of(visitor),
        username,
        error: error.map(|(_, m)| m),
        form_token: form_token.clone(),
        next: safe_next(next).unwrap_or_default().to_string(),
    });
    *resp.status_mut() = status;
    set_cookie(
        &mut resp,
        &session::set_cookie(ctx, FORM_COOKIE, &form_token, 3600),
    );
    resp
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// Signs in: a session cookie and back home (or to `next`, a path on this node); a wrong password or too many attempts give the
/// form again, the name kept and the reason said.
async fn sign_in(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    let token_ok = visitor
        .form_token
        .as_deref()
        .is_some_and(|t| !form.csrf.is_empty() && t == form.csrf);
    if !token_ok {
        let e = Error::Forbidden(
            "the sign-in form has expired or did not come from this node: open it again".into(),
        );
        return refused(&tr, e);
    }
    match sessions::sign_in(&ctx, &form.username, &form.password).await {
        Ok(session) => {
            let max_age = (session.expires_at - crate::store::now()).num_seconds();
            let mut resp = Redirect::to(safe_next(&form.next).unwrap_or("/")).into_response();
            set_cookie(
                &mut resp,
                &session::set_cookie(&ctx, SESSION_COOKIE, &session.token, max_age),
            );
            set_cookie(&mut resp, &session::set_cookie(&ctx, FORM_COOKIE, "", 0));
            resp
        }
        Err(e @ (Error::Unauthorized(_) | Error::TooManyRequests(_) | Error::BadRequest(_))) => {
            let status = e.status();
            login_page(
                &ctx,
                tr,
                &visitor,
                form.username,
                &form.next,
                Some((status, e.to_string())),
            )
        }
        Err(e) => refused(&tr, e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// Signs out (a form with the session's token): the session ends and its cookie is cleared.
async fn sign_out(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<TokenForm>,
) -> Response {
    let tr = Tr::from_headers(&headers);
    if let Err(e) = visitor.check_form(&form.csrf) {
        return refused(&tr, e);
    }
    if let Some(token) = &visitor.session_token {
        if let Err(e) = sessions::sign_out(&ctx, token).await {
            return refused(&tr, e);
        }
    }
    let mut resp = Redirect::to("/").into_response();
    set_cookie(&mut resp, &session::set_cookie(&ctx, SESSION_COOKIE, "", 0));
    resp
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_node_are_returned_to() {
        for ok in [
            "/",
            "/intents/like?object=https%3A%2F%2Fa.example%2Fideas%2F1",
        ] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for bad in [
            "",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }
}
