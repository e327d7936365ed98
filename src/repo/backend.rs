//! The one storage abstraction: an `object_store::ObjectStore` plus the location it was built
//! from, with errors turned into typed remote errors that name the store and the fix.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, PutMode, PutOptions, PutPayload};

use crate::remote::{self, RemoteKind};

#[derive(Clone)]
pub struct Backend {
    store: Arc<dyn ObjectStore>,
    /// As the user wrote it (secrets never appear here).
    pub display: String,
    /// Remote stores get a local cache of index files and snapshots.
    pub remote: bool,
    /// Applied to packs (the bulk of a store): e.g. an S3 storage class.
    pack_attributes: Attributes,
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

    pub fn set_pack_attribute(&mut self, key: Attribute, value: String) {
        self.pack_attributes.insert(key, value.into());
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

    /// The last `n` bytes of an object (all of it when it is shorter).
    pub async fn get_suffix(&self, key: &str, n: u64) -> Result<Bytes> {
        let opts = object_store::GetOptions {
            range: Some(object_store::GetRange::Suffix(n)),
            ..Default::default()
        };
        let r = self
            .store
            .get_opts(&Path::from(key), opts)
            .await
            .map_err(|e| self.remote(e))?;
        r.bytes().await.map_err(|e| self.remote(e))
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

    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.remote(e)),
        }
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
        let kind = match &e {
            object_store::Error::NotFound { .. } if !is_missing_bucket(&e) => RemoteKind::NotFound,
            object_store::Error::Precondition { .. } => RemoteKind::PreconditionFailed,
            _ => RemoteKind::of_error(&e),
        };
        remote::error(&format!("store {}", self.display), kind, &e.to_string())
    }
}

/// S3 answers 404 both for a missing key and a missing bucket; only the body tells them apart.
fn is_missing_bucket(e: &object_store::Error) -> bool {
    RemoteKind::of_error(e) == RemoteKind::MissingBucket
}
