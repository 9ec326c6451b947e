//! The REST API for clients under `/api/v1` (documented in `spec/openapi.yaml`), with bearer
//! tokens.
//!
//! One file per resource, each calling into the service module of the same name (`accounts`,
//! `rooms`, `members`, `ideas`, `comments`, `supports`, `follows`, `invitations`, `handoffs`;
//! `admin` and `blocks` for staff-only routes). Handlers parse and authenticate, then call one service
//! function; every rule lives in the service. Every resource declares its routes with one
//! `routes!` block, which builds both its axum router and its table of (path, method), so
//! [`route_table`] is exactly what [`router`] serves; `tests/openapi_routes.rs` holds that table
//! and `spec/openapi.yaml` to each other.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::service::accounts as account_service;
use crate::state::Ctx;
use crate::store::models::Actor;

/// The OpenAPI name (lower case) of a method-routing function; any other word is a compile
/// error, so a resource cannot serve a method its route table does not list.
macro_rules! method_name {
    (get) => {
        "get"
    };
    (post) => {
        "post"
    };
    (put) => {
        "put"
    };
    (patch) => {
        "patch"
    };
    (delete) => {
        "delete"
    };
}

/// Declares the routes of one resource:
///
/// ```ignore
/// routes! {
///     "/api/v1/rooms" => post(create).get(list),
///     "/api/v1/rooms/{name}/terms" => put(set_terms),
/// }
/// ```
///
/// expands to `fn router() -> Router<Ctx>` (each path routed to `axum::routing::FIRST(h)`
/// chained with `.METHOD(h)`) and `const ROUTES: &[(path, method)]` built from the very same
/// tokens, so the two cannot drift.
macro_rules! routes {
    ($($path:literal => $first:ident($handler:expr) $(.$method:ident($more:expr))*),+ $(,)?) => {
        /// This resource's routes.
        pub(super) fn router() -> ::axum::Router<$crate::state::Ctx> {
            ::axum::Router::new()
                $(.route($path, ::axum::routing::$first($handler) $(.$method($more))*))+
        }

        /// (path, lower-case method) of every route [`router`] serves.
        pub(super) const ROUTES: &[(&str, &str)] = &[
            $(
                ($path, method_name!($first)),
                $(($path, method_name!($method)),)*
            )+
        ];
    };
}

mod accounts;
mod admin;
mod blocks;
mod comments;
mod follows;
mod handoffs;
mod ideas;
mod invitations;
mod members;
mod rooms;
mod supports;

/// A resource: its router and the table of what that router serves.
type Resource = (fn() -> Router<Ctx>, &'static [(&'static str, &'static str)]);

/// Every resource, listed once for both [`router`] and [`route_table`].
const RESOURCES: &[Resource] = &[
    (accounts::router, accounts::ROUTES),
    (rooms::router, rooms::ROUTES),
    (members::router, members::ROUTES),
    (ideas::router, ideas::ROUTES),
    (comments::router, comments::ROUTES),
    (supports::router, supports::ROUTES),
    (follows::router, follows::ROUTES),
    (invitations::router, invitations::ROUTES),
    (handoffs::router, handoffs::ROUTES),
    (admin::router, admin::ROUTES),
    (blocks::router, blocks::ROUTES),
];

/// The whole API, plus the JSON 404 for any unknown path (of the whole application, since
/// this router's fallback becomes the application's).
pub fn router() -> Router<Ctx> {
    RESOURCES
        .iter()
        .fold(Router::new(), |r, (resource, _)| r.merge(resource()))
        .fallback(not_found)
}

/// Every (path, method) the API serves, paths in axum's `{param}` syntax (the same as
/// OpenAPI's) and methods in lower case (as OpenAPI's path items spell them).
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    RESOURCES
        .iter()
        .flat_map(|(_, routes)| routes.iter().copied())
        .collect()
}

async fn not_found() -> Error {
    Error::NotFound("no such route".into())
}

/// The local person behind the bearer token.
pub struct User(pub Actor);

impl FromRequestParts<Ctx> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<User> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Unauthorized("missing Authorization: Bearer TOKEN header".into())
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| Error::Unauthorized("Authorization must be 'Bearer TOKEN'".into()))?;
        Ok(User(
            account_service::authenticate(ctx, token.trim()).await?,
        ))
    }
}

/// A JSON request body, whatever its `Content-Type`.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T> {
    crate::limits::check_json(body)?;
    serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
}

/// A JSON request body that may be left empty.
fn parse_or_default<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        parse(body)
    }
}

/// The optional body of a refusal (of a join request, an invitation, a handoff).
#[derive(Deserialize, Default)]
struct ReasonBody {
    reason: Option<String>,
}
