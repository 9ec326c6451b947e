//! The documents this node last served to anonymous ActivityPub readers (an idea's `Page`, a
//! comment's `Note`), kept as the bytes that were sent, so that the next reader of the same
//! URL is answered without a database read or a JSON rendering.
//!
//! What it promises: a document is served from here only if the database's count of changes
//! ([`crate::store::Db::changes`]) has not moved since it was read, and it is at most
//! [`MAX_AGE`] old. The first rule makes a change visible to the very next request: on SQLite
//! every change this process commits moves the count; on PostgreSQL so does every change any
//! process commits, told by the database ([`crate::store::changes`]), and while this process
//! cannot be told, the count is unknown and nothing is served from here. The second rule
//! bounds how long a change the count misses can go unseen (a command-line tool writing to the
//! SQLite file, a connection to PostgreSQL that broke without a word).
//!
//! Only answers that any reader would get are kept: a document that needed a signed request
//! (a partners room's idea) is never stored. At most [`MAX_ENTRIES`] documents are kept; the
//! cache starts over when it is full.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;

/// How long a kept document may be served without asking the database again.
pub const MAX_AGE: Duration = Duration::from_secs(1);
/// How many documents are kept at most (an idea's `Page` is 1-3 KB).
pub const MAX_ENTRIES: usize = 2048;

/// Documents by URL path, for anonymous readers.
#[derive(Default)]
pub struct DocumentCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    /// [`crate::store::Db::changes`] before the document was read.
    changes: u64,
    at: Instant,
    status: StatusCode,
    body: Bytes,
}

impl DocumentCache {
    /// The document kept for `path`, if nothing was written since it was read.
    pub fn get(&self, path: &str, changes: u64) -> Option<(StatusCode, Bytes)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(path)
            .filter(|e| e.changes == changes && e.at.elapsed() < MAX_AGE)
            .map(|e| (e.status, e.body.clone()))
    }

    /// Keeps the document read for `path` when the database had seen `changes` writes.
    pub fn put(&self, path: &str, changes: u64, status: StatusCode, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(path) {
            entries.clear();
        }
        entries.insert(
            path.to_string(),
            Entry {
                changes,
                at: Instant::now(),
                status,
                body,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_or_age_makes_a_document_stale() {
        let cache = DocumentCache::default();
        cache.put("/ideas/a", 7, StatusCode::OK, Bytes::from_static(b"{}"));
        assert_eq!(cache.get("/ideas/a", 7).map(|h| h.0), Some(StatusCode::OK));
        assert!(cache.get("/ideas/a", 8).is_none(), "a write since the read");
        assert!(cache.get("/ideas/b", 7).is_none());
        std::thread::sleep(MAX_AGE);
        assert!(cache.get("/ideas/a", 7).is_none(), "too old");
    }

    #[test]
    fn it_starts_over_when_full() {
        let cache = DocumentCache::default();
        for i in 0..MAX_ENTRIES {
            cache.put(&format!("/ideas/{i}"), 1, StatusCode::OK, Bytes::new());
        }
        assert!(cache.get("/ideas/0", 1).is_some());
        cache.put("/ideas/new", 1, StatusCode::OK, Bytes::new());
        assert!(cache.get("/ideas/0", 1).is_none());
        assert!(cache.get("/ideas/new", 1).is_some());
    }
}
