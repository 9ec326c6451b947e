//! Who is looking at a page: the session cookie (set at sign-in, stored in the database by
//! its hash, so it survives restarts and works across processes), and the CSRF tokens forms
//! carry.
//!
//! Promises: the session cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` outside
//! development mode. Every form posts a CSRF token: signed-in visitors the token of their
//! session; the sign-in form, before a session exists, a token also set in a short-lived
//! cookie (double submit). A post without the right token is refused with 403 and changes
//! nothing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::error::{Error, Result};
use crate::service::sessions;
use crate::state::Ctx;
use crate::store::models::Actor;
use crate::store::models::Session;

/// The session cookie.
pub const SESSION_COOKIE: &str = "cocreate_session";
/// The sign-in form's CSRF cookie (before a session exists).
pub const FORM_COOKIE: &str = "cocreate_form";

/// The visitor of a page: signed in, or not.
pub struct Visitor {
    pub me: Option<(Actor, Session)>,
    /// The session token, when the visitor sent one that is still valid.
    pub session_token: Option<String>,
    /// The sign-in form's token from its cookie, if any.
    pub form_token: Option<String>,
}

impl Visitor {
    /// The signed-in person, or 401 (the error page asks to sign in).
    pub fn require(&self) -> Result<&(Actor, Session)> {
        self.me
            .as_ref()
            .ok_or_else(|| Error::Unauthorized("sign in to do this".into()))
    }

    /// Checks the CSRF token a form posted against the visitor's session.
    pub fn check_form(&self, submitted: &str) -> Result<&(Actor, Session)> {
        let me = self.require()?;
        sessions::check_csrf(&me.1, submitted)?;
        Ok(me)
    }
}

impl Visitor {
    /// The visitor of a request with these headers (for pages served outside an extractor,
    /// such as rooms and ideas at their ActivityPub ids).
    pub async fn from_headers(ctx: &Ctx, headers: &HeaderMap) -> Result<Visitor> {
        let session_token = cookie(headers, SESSION_COOKIE);
        let me = match &session_token {
            Some(token) => sessions::session_user(ctx, token).await?,
            None => None,
        };
        Ok(Visitor {
            session_token: session_token.filter(|_| me.is_some()),
            me,
            form_token: cookie(headers, FORM_COOKIE),
        })
    }

    /// The signed-in actor, if any.
    pub fn actor(&self) -> Option<&Actor> {
        self.me.as_ref().map(|(a, _)| a)
    }
}

impl FromRequestParts<Ctx> for Visitor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Visitor> {
        Visitor::from_headers(ctx, &parts.headers).await
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a cookie of this node: HttpOnly, SameSite=Lax, Path=/, Secure unless in
/// development mode; `max_age` 0 deletes it.
pub fn set_cookie(ctx: &Ctx, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if ctx.settings.dev { "" } else { "; Secure" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; cocreate_session=abc".parse().unwrap());
        h.append(header::COOKIE, "cocreate_form=xyz".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, FORM_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
