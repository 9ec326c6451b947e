//! Rules of the REST API, one small test each, against a node built in-process
//! (`cocreate::build_state` + `cocreate::router`, see `fixture.rs`): no processes, no sockets,
//! local only. The multi-node scenarios in `tests/*.rs` remain the acceptance tests, for
//! federation above all.

#[path = "../common/mod.rs"]
mod common;
mod fixture;
mod web;

mod auth;
mod board_pages;
mod comments;
mod curation;
mod handoffs;
mod ideas;
mod intents;
mod manage_pages;
mod membership;
mod pages;
mod phases;
mod rooms;
mod sessions;
mod stages;
mod support;
mod visibility;
mod visibility_fixes;
