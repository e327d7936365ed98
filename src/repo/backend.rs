//! The one storage abstraction: an `object_store::ObjectStore` plus the location it was built
//! from, with errors turned into messages that name the store and the fix.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{Attributes, ObjectStore, PutMode, PutOptions, PutPayload};

use crate::error::KlosetError;

#[derive(Clone)]
pub struct Backend {
    pub store: Arc<dyn ObjectStore>,
    /// As the user wrote it (secrets never appear here).
    pub display: String,
    /// Remote stores get a local cache of index files and snapshots.
    pub remote: bool,
    /// Applied to packs (the bulk of a store): e.g. an S3 storage class.
    pub pack_attributes: Attributes,
}

impl Backend {
    pub fn new(store: Arc<dyn ObjectStore>, display: String, remote: bool) -> Backend {
        Backend {
            store,
            display,
            remote,
            pack_attributes: Attributes::new(),
        }
    }

    pub async fn put_pack(&self, key: &str, data: Bytes) -> Result<()> {
        let opts = PutOptions {
            attributes: self.pack_attributes.clone(),
            ..Default::default()
        };
        self.store
            .put_opts(&Path::from(key), PutPayload::from(data), opts)
            .await
            .map_err(|e| self.remote(e))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.store.get(&Path::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| self.remote(e))?)),
            Err(e @ object_store::Error::NotFound { .. }) if !is_missing_bucket(&e) => Ok(None),
            Err(e) => Err(self.remote(e)),
        }
    }

    pub async fn get_ranges(&self, key: &str, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.store
            .get_ranges(&Path::from(key), ranges)
            .await
            .map_err(|e| self.remote(e))
    }

    pub async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.store
            .put(&Path::from(key), PutPayload::from(data))
            .await
            .map_err(|e| self.remote(e))?;
        Ok(())
    }

    /// Create-only put. Returns false when the object already exists.
    pub async fn put_new(&self, key: &str, data: Bytes) -> Result<bool> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&Path::from(key), PutPayload::from(data), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.remote(e)),
        }
    }

    /// (key relative to the store, size) of every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let metas: Vec<_> = self
            .store
            .list(Some(&Path::from(prefix)))
            .try_collect()
            .await
            .map_err(|e| self.remote(e))?;
        Ok(metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.size))
            .collect())
    }

    pub fn remote(&self, e: object_store::Error) -> anyhow::Error {
        KlosetError::Remote(describe(&self.display, &e)).into()
    }
}

/// S3 answers 404 both for a missing key and a missing bucket; only the body tells them apart.
pub fn is_missing_bucket(e: &object_store::Error) -> bool {
    full_text(e).contains("nosuchbucket")
}

fn full_text(e: &object_store::Error) -> String {
    chain_text(e)
}

/// An error and all its sources, lower-cased: what the hints below are matched against.
pub fn chain_text(e: &dyn std::error::Error) -> String {
    let mut all = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        all.push_str(&format!(" {s}"));
        src = s.source();
    }
    all.to_lowercase()
}

pub const CANNOT_REACH: &str =
    "cannot reach the endpoint: check the host, port and that the server is running";

/// What to do about a remote failure, when its text says what it is. Shared by the store
/// client and the object-level S3 requests so both name the same fixes.
pub fn hint_for(all: &str) -> Option<&'static str> {
    let any = |words: &[&str]| words.iter().any(|w| all.contains(w));
    if any(&["nosuchbucket", "bucket does not exist"]) {
        Some("the bucket does not exist: run 'create' (which makes it when the credentials allow) or create it with your S3 tools")
    } else if any(&[
        "invalidaccesskeyid",
        "signaturedoesnotmatch",
        "accessdenied",
        "forbidden",
        "403",
    ]) {
        Some("access denied: check access_key and secret_access_key")
    } else if any(&["connection refused", "dns error", "timed out"]) {
        Some(CANNOT_REACH)
    } else if any(&[
        "invalid http version",
        "wrong version number",
        "tls",
        "corrupt message",
        "certificate",
        "ssl",
    ]) {
        Some("TLS mismatch: check use_tls (true for https, false for http) and the server certificate")
    } else {
        None
    }
}

/// One line naming the store and, where the cause is recognisable, what to do about it.
pub fn describe(display: &str, e: &object_store::Error) -> String {
    let text = format!("{e}");
    let first_line = text.lines().next().unwrap_or("").to_string();
    match hint_for(&full_text(e)) {
        None => format!("store {display}: {first_line}"),
        Some(hint) => format!("store {display}: {hint} ({})", truncate(&first_line, 160)),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    }
}
