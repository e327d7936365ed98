//! The one storage abstraction: an `object_store::ObjectStore` plus the location it was built
//! from, with errors turned into typed remote errors that name the store and the fix.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, PutMode, PutOptions, PutPayload};

use crate::clock::Clock;
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
    /// The directory of a local store.
    local_root: Option<std::path::PathBuf>,
    /// Requests carry an SSE-C key: a refusal is told as a key mismatch.
    pub sse_customer: bool,
    /// Set when packs are written in an archive storage class.
    pub cold: Option<Arc<dyn ColdStorage>>,
    /// Set for a store under Object Lock.
    pub lock: Option<Arc<dyn ObjectLock>>,
    /// This host's clock (the simulation gives each simulated host its own).
    clock: Arc<dyn Clock>,
}

/// A store whose data packs may sit in an archive storage class.
#[async_trait::async_trait]
pub trait ColdStorage: Send + Sync {
    /// Of these object keys, the ones that cannot be read until thawed, with their class.
    async fn frozen(&self, keys: &[String]) -> Result<Vec<(String, String)>>;
    /// Asks for readable copies of these keys and waits until all are, checking every `poll`.
    async fn thaw(&self, keys: &[String], poll: std::time::Duration) -> Result<()>;
}

/// A store under S3 Object Lock: what prune asks before deleting, and how it keeps what is
/// in use protected.
#[async_trait::async_trait]
pub trait ObjectLock: Send + Sync {
    /// The retention period objects get, in days.
    fn days(&self) -> u32;
    /// When the object's retention ends (None: not retained, or not there).
    async fn retained_until(&self, key: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>>;
    /// Retains the object until `until` (servers refuse to shorten a retention).
    async fn extend(&self, key: &str, until: chrono::DateTime<chrono::Utc>) -> Result<()>;
}

impl Backend {
    pub fn new(store: Arc<dyn ObjectStore>, display: String, remote: bool) -> Backend {
        Backend {
            store,
            display,
            remote,
            pack_attributes: Attributes::new(),
            local_root: None,
            sse_customer: false,
            cold: None,
            lock: None,
            clock: crate::clock::system(),
        }
    }

    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// Now, by this host's clock: for what is recorded (snapshot times), never for ages.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn set_local_root(&mut self, root: std::path::PathBuf) {
        self.local_root = Some(root);
    }

    /// Files a failed write left beside packs (the local store writes `<name>#<n>`, syncs
    /// and renames it, see `connectors::fs::durable_store`; listings do not show them).
    pub fn partial_writes(&self, prefix: &str) -> Vec<String> {
        let Some(root) = &self.local_root else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut dirs = vec![root.join(prefix)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if e.file_name().to_string_lossy().contains('#') {
                    if let Ok(rel) = path.strip_prefix(root) {
                        out.push(rel.to_string_lossy().into_owned());
                    }
                }
            }
        }
        out
    }

    pub fn set_pack_attribute(&mut self, key: Attribute, value: String) {
        self.pack_attributes.insert(key, value.into());
    }

    /// `data`: a data pack, which takes the pack attributes (storage class); tree packs stay
    /// in the default class so listing and backing up never wait for a thaw.
    pub async fn put_pack(&self, key: &str, bytes: Bytes, data: bool) -> Result<()> {
        let opts = PutOptions {
            attributes: match data {
                true => self.pack_attributes.clone(),
                false => Attributes::new(),
            },
            ..Default::default()
        };
        let path = Path::from(key);
        self.retrying(|| {
            self.store
                .put_opts(&path, PutPayload::from(bytes.clone()), opts.clone())
        })
        .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let got = self
            .retrying(|| async {
                let r = self.store.get(&Path::from(key)).await?;
                r.bytes().await
            })
            .await;
        match got {
            Ok(b) => Ok(Some(b)),
            Err(e) if crate::remote::kind_of(&e) == Some(RemoteKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A small object whole, or its first `limit + 1` bytes when it is larger (the caller
    /// refuses it): a planted huge object is never downloaded. A plain GET, its size looked at
    /// before the body (a suffix range has no valid answer for an empty object on S3).
    pub async fn get_at_most(&self, key: &str, limit: u64) -> Result<Option<Bytes>> {
        let got = self
            .retrying(|| async {
                let r = self.store.get(&Path::from(key)).await?;
                if r.meta.size <= limit {
                    return r.bytes().await;
                }
                let mut stream = r.into_stream();
                let mut out = Vec::new();
                while let Some(chunk) = stream.try_next().await? {
                    out.extend_from_slice(&chunk);
                    if out.len() as u64 > limit {
                        break;
                    }
                }
                out.truncate(limit as usize + 1);
                Ok(Bytes::from(out))
            })
            .await;
        match got {
            Ok(b) => Ok(Some(b)),
            Err(e) if crate::remote::kind_of(&e) == Some(RemoteKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// An object, only when it is at most `max` bytes: its size (from the response, before
    /// the body is read) over `max` is damage, an integrity error naming `what`.
    pub async fn get_bounded(&self, key: &str, what: &str, max: u64) -> Result<Option<Bytes>> {
        let got = self
            .retrying(|| async {
                let r = self.store.get(&Path::from(key)).await?;
                if r.meta.size > max {
                    return Ok(Err(r.meta.size));
                }
                r.bytes().await.map(Ok)
            })
            .await;
        match got {
            Ok(Ok(b)) if b.len() as u64 <= max => Ok(Some(b)),
            Ok(Ok(b)) => Err(too_large(what, b.len() as u64, max)),
            Ok(Err(size)) => Err(too_large(what, size, max)),
            Err(e) if crate::remote::kind_of(&e) == Some(RemoteKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The last `n` bytes of an object (all of it when it is shorter).
    pub async fn get_suffix(&self, key: &str, n: u64) -> Result<Bytes> {
        self.retrying(|| async {
            let opts = object_store::GetOptions {
                range: Some(object_store::GetRange::Suffix(n)),
                ..Default::default()
            };
            self.store
                .get_opts(&Path::from(key), opts)
                .await?
                .bytes()
                .await
        })
        .await
    }

    pub async fn get_ranges(&self, key: &str, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let path = Path::from(key);
        self.retrying(|| self.store.get_ranges(&path, ranges)).await
    }

    pub async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let path = Path::from(key);
        self.retrying(|| self.store.put(&path, PutPayload::from(data.clone())))
            .await?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = Path::from(key);
        match self.retrying(|| self.store.delete(&path)).await {
            Err(e) if crate::remote::kind_of(&e) != Some(RemoteKind::NotFound) => Err(e),
            _ => Ok(()),
        }
    }

    /// Runs a request again when it failed in a way a retry can fix: the request with its
    /// whole body, or a listing with all its pages (this is the only retry layer: object_store's
    /// own is off, see `crate::retry`). Every request here is idempotent (objects are immutable
    /// and content-addressed).
    async fn retrying<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = object_store::Result<T>>,
    {
        let policy = match self.remote {
            true => crate::retry::Policy::NETWORK,
            false => crate::retry::Policy::LOCAL,
        };
        crate::retry::run(&policy, crate::retry::store_transient, op)
            .await
            .map_err(|e| self.remote(e))
    }

    /// Create-only put. Returns false when the object already exists.
    pub async fn put_new(&self, key: &str, data: Bytes) -> Result<bool> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let path = Path::from(key);
        let put = || {
            self.store
                .put_opts(&path, PutPayload::from(data.clone()), opts.clone())
        };
        match crate::retry::run(
            &crate::retry::Policy::NETWORK,
            crate::retry::store_unsent,
            put,
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.remote(e)),
        }
    }

    /// The server's `LastModified` of an object (None: not there).
    pub async fn modified(&self, key: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let path = Path::from(key);
        match self.retrying(|| self.store.head(&path)).await {
            Ok(meta) => Ok(Some(meta.last_modified)),
            Err(e) if crate::remote::kind_of(&e) == Some(RemoteKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// (key relative to the store, size) of every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        Ok(self
            .list_with_time(prefix)
            .await?
            .into_iter()
            .map(|(key, size, _)| (key, size))
            .collect())
    }

    /// (key, size, last modified) of every object under `prefix`.
    pub async fn list_with_time(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, u64, chrono::DateTime<chrono::Utc>)>> {
        let path = Path::from(prefix);
        let metas: Vec<object_store::ObjectMeta> = self
            .retrying(|| self.store.list(Some(&path)).try_collect())
            .await?;
        Ok(metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.size, m.last_modified))
            .collect())
    }

    pub fn remote(&self, e: object_store::Error) -> anyhow::Error {
        if !self.remote && !matches!(e, object_store::Error::NotFound { .. }) {
            // A local disk: its failures are I/O errors (exit 1), said plainly.
            let text = crate::remote::chain_text(&e);
            if text.contains("no space left") {
                return anyhow::anyhow!(
                    "store {}: the disk is full: free some space and run the command again (data already stored is reused)",
                    self.display
                );
            }
            return anyhow::anyhow!("store {}: {e}", self.display);
        }
        let text = crate::remote::chain_text(&e);
        let refused = ["400 bad request", "403 forbidden"]
            .iter()
            .any(|s| text.contains(s));
        let kind = match &e {
            _ if self.sse_customer && refused => RemoteKind::SseKey,
            object_store::Error::NotFound { .. } if !is_missing_bucket(&e) => RemoteKind::NotFound,
            object_store::Error::Precondition { .. } => RemoteKind::PreconditionFailed,
            _ => RemoteKind::of_error(&e),
        };
        // The status first: the message is cut to one short line, and a long URL would hide it.
        let detail = match crate::retry::http_status(&text) {
            Some(status) => format!("HTTP {status}: {e}"),
            None => e.to_string(),
        };
        remote::error(&format!("store {}", self.display), kind, &detail)
    }
}

fn too_large(what: &str, size: u64, max: u64) -> anyhow::Error {
    let why = super::bounds::check(what, size, max).unwrap_err();
    crate::error::KlosetError::Integrity(why).into()
}

/// S3 answers 404 both for a missing key and a missing bucket; only the body tells them apart.
fn is_missing_bucket(e: &object_store::Error) -> bool {
    RemoteKind::of_error(e) == RemoteKind::MissingBucket
}
