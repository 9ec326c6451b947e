//! Signing in and out: the sign-in form with its double-submit token, the session cookie.

use askama::Template;
use axum::extract::State;
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
}

/// The sign-in page; its form carries a fresh token, also set as a short-lived cookie.
async fn login(State(ctx): State<Ctx>, headers: HeaderMap, visitor: Visitor) -> Response {
    login_page(
        &ctx,
        Tr::from_headers(&headers),
        &visitor,
        String::new(),
        None,
    )
}

fn login_page(
    ctx: &Ctx,
    tr: Tr,
    visitor: &Visitor,
    username: String,
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
}

/// Signs in: a session cookie and back home; a wrong password or too many attempts give the
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
            let mut resp = Redirect::to("/").into_response();
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
