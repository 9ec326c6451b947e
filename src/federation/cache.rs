//! The documents this node last served to anonymous ActivityPub readers (an idea's `Page`, a
//! comment's `Note`), kept as the bytes that were sent, so that the next reader of the same
//! URL is answered without a database read or a JSON rendering.
//!
//! What it promises: a document is served from here only if no write transaction has been
//! committed by this process since it was read ([`crate::store::Db::changes`]) and it is at
//! most [`MAX_AGE`] old. The first rule makes a change made here visible to the very next
//! request; the second bounds how long a change made by another process (a command-line tool
//! writing to the same SQLite file) can go unseen. The cache is used only on SQLite, where
//! this process is the only server of its database; several processes sharing a PostgreSQL
//! database each see writes the others do not count, so there every read goes to the database.
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
pub struct DocumentCache {
    enabled: bool,
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
    /// A cache that keeps documents (`enabled`), or one that keeps nothing.
    pub fn new(enabled: bool) -> DocumentCache {
        DocumentCache {
            enabled,
            entries: Mutex::default(),
        }
    }

    /// The document kept for `path`, if nothing was written since it was read.
    pub fn get(&self, path: &str, changes: u64) -> Option<(StatusCode, Bytes)> {
        if !self.enabled {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(path)
            .filter(|e| e.changes == changes && e.at.elapsed() < MAX_AGE)
            .map(|e| (e.status, e.body.clone()))
    }

    /// Keeps the document read for `path` when the database had seen `changes` writes.
    pub fn put(&self, path: &str, changes: u64, status: StatusCode, body: Bytes) {
        if !self.enabled {
            return;
        }
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
        let cache = DocumentCache::new(true);
        cache.put("/ideas/a", 7, StatusCode::OK, Bytes::from_static(b"{}"));
        assert_eq!(cache.get("/ideas/a", 7).map(|h| h.0), Some(StatusCode::OK));
        assert!(cache.get("/ideas/a", 8).is_none(), "a write since the read");
        assert!(cache.get("/ideas/b", 7).is_none());
        let off = DocumentCache::new(false);
        off.put("/ideas/a", 7, StatusCode::OK, Bytes::from_static(b"{}"));
        assert!(off.get("/ideas/a", 7).is_none());
    }

    #[test]
    fn it_starts_over_when_full() {
        let cache = DocumentCache::new(true);
        for i in 0..MAX_ENTRIES {
            cache.put(&format!("/ideas/{i}"), 1, StatusCode::OK, Bytes::new());
        }
        assert!(cache.get("/ideas/0", 1).is_some());
        cache.put("/ideas/new", 1, StatusCode::OK, Bytes::new());
        assert!(cache.get("/ideas/0", 1).is_none());
        assert!(cache.get("/ideas/new", 1).is_some());
    }
}
