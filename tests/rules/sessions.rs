//! Web accounts and sessions, through the services the pages call (no pages yet): passwords,
//! sign-in and its rate limit, sessions and their expiry, sign-out, CSRF, sign-up.

use crate::common::internals::{self, Refusal};
use crate::fixture::Fixture;

const PASSWORD: &str = "correct horse battery";

#[track_caller]
fn assert_refusal(result: &Refusal, status: u16, message: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1, message);
}

/// A node with the user `bob`, whose password is [`PASSWORD`].
async fn bob_with_password(fx: &Fixture) -> cocreate::state::Ctx {
    fx.user("bob").await;
    let ctx = fx.ctx().await;
    internals::set_password(&ctx, "bob", PASSWORD)
        .await
        .unwrap();
    ctx
}

#[tokio::test]
async fn the_right_password_gives_a_session_of_the_user() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    let signed_in = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    assert_eq!(signed_in.name, "bob");
    assert!(signed_in.token.len() >= 43, "32 random bytes");
    assert_ne!(signed_in.token, signed_in.csrf_token);
    assert_eq!(
        internals::session_user(&ctx, &signed_in.token)
            .await
            .as_deref(),
        Some("bob")
    );
    assert_eq!(internals::session_user(&ctx, "no-such-token").await, None);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    let wrong_password = internals::sign_in(&ctx, "bob", "not the password")
        .await
        .unwrap_err();
    let unknown_user = internals::sign_in(&ctx, "nobody", PASSWORD)
        .await
        .unwrap_err();
    // alice exists but has no password.
    let no_password = internals::sign_in(&ctx, "alice", PASSWORD)
        .await
        .unwrap_err();
    for refusal in [&wrong_password, &unknown_user, &no_password] {
        assert_refusal(refusal, 401, "wrong username or password");
    }
}

#[tokio::test]
async fn six_wrong_attempts_give_429_and_then_the_right_password_is_refused_too() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    for _ in 0..5 {
        let refusal = internals::sign_in(&ctx, "bob", "guess-guess")
            .await
            .unwrap_err();
        assert_eq!(refusal.0, 401, "{}", refusal.1);
    }
    let sixth = internals::sign_in(&ctx, "bob", "guess-guess")
        .await
        .unwrap_err();
    assert_eq!(sixth.0, 429, "{}", sixth.1);
    assert!(sixth.1.contains("too many"), "{}", sixth.1);
    let right = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap_err();
    assert_eq!(
        right.0, 429,
        "the right password waits for the window too: {}",
        right.1
    );
    // The limit is per name: another person is not locked out.
    fx.user("carol").await;
    internals::set_password(&ctx, "carol", PASSWORD)
        .await
        .unwrap();
    internals::sign_in(&ctx, "carol", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_successful_sign_in_clears_earlier_failures() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    for _ in 0..4 {
        internals::sign_in(&ctx, "bob", "guess-guess")
            .await
            .unwrap_err();
    }
    internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    for _ in 0..4 {
        let refusal = internals::sign_in(&ctx, "bob", "guess-guess")
            .await
            .unwrap_err();
        assert_eq!(refusal.0, 401, "{}", refusal.1);
    }
    internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    let first = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    let second = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    internals::sign_out(&ctx, &first.token).await;
    assert_eq!(internals::session_user(&ctx, &first.token).await, None);
    assert_eq!(
        internals::session_user(&ctx, &second.token)
            .await
            .as_deref(),
        Some("bob"),
        "only that browser is signed out"
    );
    // Signing out twice is harmless.
    internals::sign_out(&ctx, &first.token).await;
}

#[tokio::test]
async fn an_expired_session_is_none() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    let signed_in = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    internals::expire_session(&ctx, &signed_in.token).await;
    assert_eq!(internals::session_user(&ctx, &signed_in.token).await, None);
}

#[tokio::test]
async fn a_new_password_ends_the_sessions_and_the_old_one_no_longer_signs_in() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    let signed_in = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    internals::set_password(&ctx, "bob", "another long password")
        .await
        .unwrap();
    assert_eq!(internals::session_user(&ctx, &signed_in.token).await, None);
    let old = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap_err();
    assert_refusal(&old, 401, "wrong username or password");
    internals::sign_in(&ctx, "bob", "another long password")
        .await
        .unwrap();
    let short = internals::set_password(&ctx, "bob", "short")
        .await
        .unwrap_err();
    assert_eq!(short.0, 400, "{}", short.1);
    assert!(short.1.contains("at least 8 characters"), "{}", short.1);
}

#[tokio::test]
async fn csrf_check_passes_for_the_sessions_token_and_fails_for_another() {
    let fx = Fixture::new().await;
    let ctx = bob_with_password(&fx).await;
    let first = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    let second = internals::sign_in(&ctx, "bob", PASSWORD).await.unwrap();
    internals::check_csrf(&ctx, &first.token, &first.csrf_token)
        .await
        .unwrap();
    for other in [second.csrf_token.as_str(), "", first.token.as_str()] {
        let refusal = internals::check_csrf(&ctx, &first.token, other)
            .await
            .unwrap_err();
        assert_eq!(refusal.0, 403, "{}", refusal.1);
        assert!(refusal.1.contains("CSRF"), "{}", refusal.1);
    }
}

#[tokio::test]
async fn sign_up_is_closed_by_default() {
    let fx = Fixture::new().await;
    let ctx = fx.ctx().await;
    let refusal = internals::sign_up(&ctx, "dora", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(refusal.0, 403, "{}", refusal.1);
    assert!(refusal.1.contains("sign-up is closed"), "{}", refusal.1);
    let unknown = internals::sign_in(&ctx, "dora", PASSWORD)
        .await
        .unwrap_err();
    assert_refusal(&unknown, 401, "wrong username or password");
}

#[tokio::test]
async fn open_sign_up_creates_a_user_who_can_sign_in() {
    let fx = Fixture::new().await;
    let ctx = internals::with_signup_open(&fx.ctx().await);
    let short = internals::sign_up(&ctx, "dora", "short").await.unwrap_err();
    assert_eq!(short.0, 400, "{}", short.1);
    assert_eq!(
        internals::sign_up(&ctx, "dora", PASSWORD).await.unwrap(),
        ("dora".to_string(), false),
        "a person who is not staff"
    );
    let taken = internals::sign_up(&ctx, "dora", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(taken.0, 409, "{}", taken.1);
    let signed_in = internals::sign_in(&ctx, "dora", PASSWORD).await.unwrap();
    assert_eq!(
        internals::session_user(&ctx, &signed_in.token)
            .await
            .as_deref(),
        Some("dora")
    );
}
