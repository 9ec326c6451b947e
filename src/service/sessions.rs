//! Web accounts and sessions, without HTML (the pages call these): passwords, sign-up, sign-in
//! with rate limiting per name, the session of a cookie, sign-out and the CSRF check.
//!
//! Promises:
//! - Passwords are stored only as Argon2id PHC strings; session tokens are shown once (for the
//!   cookie) and only their SHA-256 is stored, like API tokens.
//! - A wrong name and a wrong password are the same [`Error::Unauthorized`] with the same
//!   message, and cost the same work (an unknown name is checked against a dummy hash).
//! - Every sign-in attempt for a name is recorded in the database before the password is
//!   checked, so the limit holds across processes: after [`MAX_FAILED_ATTEMPTS`] within
//!   [`ATTEMPT_WINDOW_MINUTES`], every attempt for that name, right password included, is
//!   [`Error::TooManyRequests`] until the window has passed. A successful sign-in clears them.
//! - A session lasts [`SESSION_LIFETIME_DAYS`]; an expired session is no session.
//! - Whether the cookie is `Secure` is the web layer's decision (`ctx.settings.dev`).

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{Duration, NaiveDateTime};
use subtle::ConstantTimeEq;

use crate::config::Signup;
use crate::domain::kinds::ActorKind;
use crate::error::{Error, Result};
use crate::service::accounts::{self, hash_token, new_token};
use crate::state::Ctx;
use crate::store::models::{Actor, Session};
use crate::store::{self, now, DbConnection};

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME_DAYS: i64 = 30;
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Failed sign-ins for one name within the window before every attempt is refused.
pub const MAX_FAILED_ATTEMPTS: i64 = 5;
/// The rate-limit window.
pub const ATTEMPT_WINDOW_MINUTES: i64 = 15;

const WRONG_CREDENTIALS: &str = "wrong username or password";

/// A new session: the token for the cookie (shown once; only its hash is stored), the CSRF
/// token for the session's forms, who signed in and until when.
#[derive(Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub actor: Actor,
    pub expires_at: NaiveDateTime,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<hidden>")
            .field("actor", &self.actor.ap_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Whether `password` is acceptable as a new password: at least [`MIN_PASSWORD_CHARS`]
/// characters, at most [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_password_rules(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::BadRequest("password: it is empty".into()));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::BadRequest(format!(
            "password: too short, it needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::BadRequest(format!(
            "password: too long, it may have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// An Argon2id PHC string of `password` with a fresh salt (CPU-heavy: call off the runtime).
fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `hash`; with no hash, the same work is done
/// against a dummy and the answer is no.
fn verify_password(hash: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let dummy = || {
        DUMMY
            .get_or_init(|| {
                let (random, _) = new_token();
                hash_password(&random).unwrap_or_default()
            })
            .as_str()
    };
    let (phc, real) = match hash {
        Some(h) => (h, true),
        None => (dummy(), false),
    };
    let Ok(parsed) = argon2::PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// Runs CPU-heavy work (password hashing) on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("password task failed: {e}")))
}

/// The local person called `name`.
fn local_person(c: &mut DbConnection, name: &str) -> Result<Option<Actor>> {
    Ok(store::actors::local_by_name(c, name)?.filter(|a| a.kind == ActorKind::Person))
}

/// The rate-limit key of a name as typed: trimmed, lower case, at most 64 characters.
fn attempt_key(name: &str) -> String {
    name.trim().to_lowercase().chars().take(64).collect()
}

/// Sets the web sign-in password of the local person `name` and ends their sessions.
pub async fn set_password(ctx: &Ctx, name: &str, password: &str) -> Result<()> {
    check_password_rules(password)?;
    let password = password.to_string();
    let hash = blocking(move || hash_password(&password)).await??;
    let name = name.to_string();
    ctx.db
        .write(move |c| {
            let actor = local_person(c, &name)?
                .ok_or_else(|| Error::not_found(format!("local user '{name}'")))?;
            store::actors::set_password_hash(c, actor.id, Some(&hash))?;
            store::sessions::delete_for_actor(c, actor.id)
        })
        .await
}

/// Creates a local person with a web sign-in password (checked first, stored in the same
/// transaction); returns the actor and its API token (shown once). For staff tools and the CLI.
pub async fn create_user_with_password(
    ctx: &Ctx,
    name: &str,
    staff: bool,
    password: &str,
) -> Result<(Actor, String)> {
    check_password_rules(password)?;
    let password = password.to_string();
    let hash = blocking(move || hash_password(&password)).await??;
    accounts::create_person(
        &ctx.db,
        &ctx.urls,
        &ctx.settings.domain,
        name,
        staff,
        Some(hash),
    )
    .await
}

/// Someone creates their own account on the web: refused (403) unless sign-up is open;
/// otherwise a person who is not staff, with this password.
pub async fn sign_up(ctx: &Ctx, name: &str, password: &str) -> Result<Actor> {
    if ctx.settings.signup != Signup::Open {
        return Err(Error::Forbidden(
            "sign-up is closed on this node: ask its staff for an account".into(),
        ));
    }
    let (actor, _api_token) = create_user_with_password(ctx, name, false, password).await?;
    Ok(actor)
}

/// Signs a local person in with their password; the new session. A wrong name or password is
/// `Unauthorized("wrong username or password")`; too many attempts for the name are
/// `TooManyRequests`.
pub async fn sign_in(ctx: &Ctx, name: &str, password: &str) -> Result<NewSession> {
    let key = attempt_key(name);
    let lookup = name.trim().to_string();
    let at = now();
    let window_start = at - Duration::minutes(ATTEMPT_WINDOW_MINUTES);
    let attempts_key = key.clone();
    let actor = ctx
        .db
        .write(move |c| {
            store::sign_in_attempts::delete_before(c, window_start)?;
            if store::sign_in_attempts::count_since(c, &attempts_key, window_start)?
                >= MAX_FAILED_ATTEMPTS
            {
                return Err(Error::TooManyRequests(format!(
                    "too many failed sign-ins for this name: try again in {ATTEMPT_WINDOW_MINUTES} minutes"
                )));
            }
            // Recorded before the check, so that parallel guesses count too; cleared on success.
            store::sign_in_attempts::insert(c, &attempts_key, at)?;
            local_person(c, &lookup)
        })
        .await?;
    let hash = actor
        .as_ref()
        .and_then(|a| a.password_hash.as_deref().map(String::from));
    let password = password.to_string();
    let right = blocking(move || verify_password(hash.as_deref(), &password)).await?;
    let actor = match actor {
        Some(actor) if right => actor,
        _ => return Err(Error::Unauthorized(WRONG_CREDENTIALS.into())),
    };
    let (token, id) = new_token();
    let (csrf_token, _) = new_token();
    let expires_at = at + Duration::days(SESSION_LIFETIME_DAYS);
    let actor_id = actor.id;
    ctx.db
        .write(move |c| {
            store::sign_in_attempts::delete_for(c, &key)?;
            store::sessions::delete_expired(c, at)?;
            store::sessions::insert(c, &id, actor_id, &csrf_token, at, expires_at)?;
            Ok(NewSession {
                token,
                csrf_token,
                actor,
                expires_at,
            })
        })
        .await
}

/// The person signed in with the session token `token` (from the cookie) and the session;
/// `None` for an unknown or expired token.
pub async fn session_user(ctx: &Ctx, token: &str) -> Result<Option<(Actor, Session)>> {
    let id = hash_token(token);
    let at = now();
    ctx.db
        .read(move |c| store::sessions::live_with_actor(c, &id, at))
        .await
}

/// Ends the session of `token` (nothing to do if there is none).
pub async fn sign_out(ctx: &Ctx, token: &str) -> Result<()> {
    let id = hash_token(token);
    ctx.db.write(move |c| store::sessions::delete(c, &id)).await
}

/// Whether a submitted form carries its session's CSRF token (compared in constant time);
/// `Forbidden` if not.
pub fn check_csrf(session: &Session, submitted: &str) -> Result<()> {
    if bool::from(session.csrf_token.as_bytes().ct_eq(submitted.as_bytes())) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "the form's CSRF token does not match this session: reload the page and try again"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(csrf: &str) -> Session {
        let t = now();
        Session {
            id: "x".into(),
            actor_id: 1,
            csrf_token: csrf.into(),
            created_at: t,
            expires_at: t,
        }
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("").is_err());
        let short = check_password_rules("1234567").unwrap_err();
        assert!(matches!(short, Error::BadRequest(_)));
        assert!(short.to_string().contains("at least 8"), "{short}");
        assert!(check_password_rules("12345678").is_ok());
        // Characters, not bytes.
        assert!(check_password_rules("éééééééé").is_ok());
        assert!(check_password_rules(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
        assert!(verify_password(Some(&hash), "correct horse"));
        assert!(!verify_password(Some(&hash), "correct horsE"));
        assert!(!verify_password(None, "correct horse"));
        assert!(!verify_password(Some("not a phc string"), "correct horse"));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let s = session("abc123");
        assert!(check_csrf(&s, "abc123").is_ok());
        for wrong in ["abc124", "abc12", "", "abc1234"] {
            let e = check_csrf(&s, wrong).unwrap_err();
            assert_eq!(e.status(), http::StatusCode::FORBIDDEN);
            assert!(e.to_string().contains("CSRF"), "{e}");
        }
    }

    #[test]
    fn attempts_are_keyed_by_the_name_as_meant() {
        assert_eq!(attempt_key(" Alice "), "alice");
        assert_eq!(attempt_key(&"a".repeat(100)).len(), 64);
    }

    #[test]
    fn too_many_requests_is_429() {
        assert_eq!(
            Error::TooManyRequests("x".into()).status(),
            http::StatusCode::TOO_MANY_REQUESTS
        );
    }
}
