//! Restoring into an S3 bucket: every file becomes an object at `prefix + its path relative to
//! the restored root`, with its saved metadata and tags (or, for filesystem snapshots, a
//! content-type guessed from the name and mode/mtime/owner kept as user metadata). Objects
//! above PART go up as multipart uploads whose parts are the feed's segments.
//!
//! Existing objects: identical ones (same size and the ETag this restore would produce, or,
//! where the ETag cannot tell, the same bytes read back) are skipped, so an interrupted restore
//! can simply be run again; any other existing object is a conflict that stops the restore
//! before anything is written, unless `--force`. The ETags of candidates are computed from
//! content read once, and identical objects are not read again.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use http::header::HeaderName;
use md5::{Digest, Md5};
use sha2::Sha256;

use super::client::S3Api;
use super::history::{self, AclPolicy};
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::remote::{self, RemoteKind};
use crate::repo::tree::{Node, NodeKind};
use crate::restore::{ContentSink, Destination, Plan, PlannedFile, Reader};

mod after_write;
mod headers;
mod identical;
mod keys;
mod sink;
mod uploads;

use headers::headers_for;
use identical::{etag_says, is_md5, EtagSink, Piece};
use keys::{drop_colliding_keys, refuse_empty_keys};

/// Objects above this size go up as multipart uploads, in parts of at least this size.
const PART: u64 = 16 * 1024 * 1024;
/// An existing object compared byte for byte is read in ranges of at most this size.
const READ_STEP: u64 = 8 * 1024 * 1024;
/// Existing objects read back at once.
const READS_IN_FLIGHT: usize = 4;

pub struct S3Destination {
    api: Arc<S3Api>,
    force: bool,
    storage_class: Option<String>,
    /// Multipart uploads under way: file -> (upload id, part ETags by part number).
    uploads: tokio::sync::Mutex<HashMap<usize, Upload>>,
    skipped: AtomicU64,
    /// Whether the server keeps the `x-amz-tagging` header of a PUT: checked on the first
    /// tagged object; where it does not, tags are set with PutObjectTagging.
    tagging: AtomicU8,
    /// Said once when the server cannot keep tags at all.
    tags_lost: AtomicU64,
    acls: AclPolicy,
    /// `retention=false`: objects are written without their Object Lock retention and legal
    /// hold (a COMPLIANCE retention cannot be undone by anyone until it ends).
    retention: bool,
    /// The bucket has Object Lock: objects are written with their retention and legal hold.
    object_lock: std::sync::atomic::AtomicBool,
    /// Versions written by a replay, and ACLs the server refused (reported at the end).
    replayed: AtomicU64,
    refused: Mutex<Vec<String>>,
    /// When this restore began (uploads begun before it may be a killed restore's).
    started: chrono::DateTime<chrono::Utc>,
}

const TAGGING_UNKNOWN: u8 = 0;
const TAGGING_IN_PUT: u8 = 1;
const TAGGING_SEPARATE: u8 = 2;
const TAGGING_NONE: u8 = 3;

struct Upload {
    key: String,
    id: String,
    parts: BTreeMap<usize, String>,
}

impl S3Destination {
    pub fn new(api: Arc<S3Api>, force: bool) -> Result<S3Destination> {
        let storage_class = api.config().option("storage_class").map(str::to_string);
        let retention = api
            .config()
            .option("retention")
            .and_then(crate::connectors::options::parse_bool)
            .unwrap_or(true);
        let acls =
            AclPolicy::from_options(api.config().option("acls"), api.config().option("acl_map"))?;
        Ok(S3Destination {
            api,
            force,
            storage_class,
            uploads: tokio::sync::Mutex::new(HashMap::new()),
            skipped: AtomicU64::new(0),
            tagging: AtomicU8::new(TAGGING_UNKNOWN),
            tags_lost: AtomicU64::new(0),
            acls,
            retention,
            object_lock: std::sync::atomic::AtomicBool::new(false),
            replayed: AtomicU64::new(0),
            refused: Mutex::new(Vec::new()),
            started: chrono::Utc::now(),
        })
    }

    fn key(planned: &PlannedFile) -> String {
        String::from_utf8_lossy(planned.relative()).into_owned()
    }
}

#[async_trait]
impl Destination for S3Destination {
    fn display(&self) -> String {
        format!("s3://{}", self.api.display_location())
    }

    fn segment_size(&self) -> Option<u64> {
        Some(PART)
    }

    fn accept(&self, parent: &[u8], node: &Node, plan: &mut Plan) -> bool {
        let what = match node.kind {
            NodeKind::Symlink => "symlink",
            k if k.is_special() => "FIFO or device node",
            _ => return true,
        };
        let key = crate::repo::walk::child_path(parent, node);
        plan.notes.push(format!(
            "{what} '{}' is not restored to S3 (S3 holds objects only)",
            String::from_utf8_lossy(&key[1..])
        ));
        false
    }

    async fn keeps_versions(&self) -> Result<bool> {
        match self.api.versioning_enabled().await {
            Ok(on) => Ok(on),
            // A bucket not there yet is made by `prepare`, without versioning.
            Err(e) if remote::kind_of(&e) == Some(RemoteKind::MissingBucket) => Ok(false),
            // Credentials for objects only: histories are then restored as their current state.
            Err(e) if remote::kind_of(&e) == Some(RemoteKind::AccessDenied) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn prepare(&self, plan: &mut Plan, reader: &Reader) -> Result<()> {
        if plan.step > 0 {
            // A later step of a replay: its keys were checked with the first. An upload a
            // failed step left is aborted, never continued by the next version.
            self.abort_left_uploads().await;
            return Ok(());
        }
        refuse_empty_keys(plan);
        drop_colliding_keys(plan);
        // Later versions of a key left out here are left out too.
        let kept: std::collections::HashSet<Vec<u8>> =
            plan.files.iter().map(|f| f.path.clone()).collect();
        for step in &mut plan.history {
            step.retain(|f| kept.contains(&f.path));
        }
        let locked = plan
            .files
            .iter()
            .chain(plan.history.iter().flatten())
            .any(|f| {
                f.node
                    .s3
                    .as_ref()
                    .is_some_and(|m| m.retention.is_some() || m.legal_hold)
            });
        if locked && self.retention {
            let lock = self.api.object_lock_enabled().await?;
            self.object_lock.store(lock, Ordering::Relaxed);
        }
        let existing: HashMap<String, (u64, Option<String>)> = match self.api.list().await {
            Ok(list) => list
                .into_iter()
                .map(|o| (o.key, (o.size, o.etag)))
                .collect(),
            Err(e) if remote::kind_of(&e) == Some(RemoteKind::MissingBucket) => {
                if !self.api.create_bucket(false).await? {
                    return Err(e);
                }
                HashMap::new()
            }
            Err(e) => return Err(e),
        };
        // Servers that list no ETags (s3s-fs, s3rver) give them on HEAD: asked only for
        // objects of the same size, which could be identical.
        let mut existing = existing;
        let unlabelled: Vec<String> = plan
            .files
            .iter()
            .filter(|f| matches!(existing.get(&Self::key(f)), Some((size, None)) if *size == f.node.size))
            .map(Self::key)
            .collect();
        let heads: Vec<(String, Option<String>)> = futures::stream::iter(unlabelled)
            .map(|k| async move {
                let etag = self
                    .api
                    .head(&k)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|h| h.header("etag"));
                (k, etag)
            })
            .buffer_unordered(16)
            .collect()
            .await;
        for (k, etag) in heads {
            if let Some(e) = existing.get_mut(&k) {
                e.1 = etag;
            }
        }
        // Same size: candidates for "identical". A replayed history is written whole:
        // skipping its first version would change the sequence.
        let candidates: Vec<PlannedFile> = plan
            .files
            .iter()
            .filter(|_| !plan.replay)
            .filter(
                |f| matches!(existing.get(&Self::key(f)), Some((size, _)) if *size == f.node.size),
            )
            .cloned()
            .collect();
        let stored = |f: &PlannedFile| existing[&Self::key(f)].1.clone().unwrap_or_default();
        let hashes = EtagSink {
            // Where the ETag may not tell (see `etag_says`), the bytes will.
            verify: candidates
                .iter()
                .enumerate()
                .filter(|(_, f)| f.node.size > PART || !is_md5(stored(f).trim_matches('"')))
                .map(|(i, _)| i)
                .collect(),
            ..EtagSink::default()
        };
        reader
            .feed(
                &candidates,
                Some(PART),
                &hashes,
                &Progress::new(true, "", None),
            )
            .await?;
        let mut identical = std::collections::HashSet::new();
        let mut unsure = Vec::new();
        for (i, ours) in hashes.done.into_inner().expect("etags") {
            let f = &candidates[i];
            match etag_says(stored(f).trim_matches('"'), &ours) {
                Some(true) => {
                    identical.insert(Self::key(f));
                }
                Some(false) => {}
                None => unsure.push(i),
            }
        }
        let mut pieces = hashes.pieces.into_inner().expect("pieces");
        let read_back: Vec<Result<Option<String>>> = futures::stream::iter(unsure)
            .map(|i| {
                let (f, mine) = (&candidates[i], pieces.remove(&i).unwrap_or_default());
                let (key, etag) = (Self::key(f), stored(f));
                async move {
                    let mine: Vec<Piece> = mine.into_values().collect();
                    let same = self.holds(&key, &etag, f.node.size, &mine).await?;
                    Ok(same.then_some(key))
                }
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .collect()
            .await;
        for key in read_back {
            identical.extend(key?);
        }
        // Same bytes are not enough: a restore run to repair a changed content type, metadata,
        // tags or class must write them (as a conflict, or with --force).
        let by_key: HashMap<String, &PlannedFile> =
            candidates.iter().map(|f| (Self::key(f), f)).collect();
        let described: Vec<Result<Option<String>>> =
            futures::stream::iter(identical.iter().cloned())
                .map(|key| {
                    let node = &by_key[&key].node;
                    async move { Ok((!self.described_alike(&key, node).await?).then_some(key)) }
                })
                .buffer_unordered(READS_IN_FLIGHT)
                .collect()
                .await;
        for key in described {
            if let Some(k) = key? {
                identical.remove(&k);
            }
        }
        let mut conflicts = Vec::new();
        plan.files.retain(|f| {
            let key = Self::key(f);
            if identical.contains(&key) {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            if existing.contains_key(&key) && !self.force {
                conflicts.push(key);
            }
            true
        });
        if !conflicts.is_empty() {
            conflicts.sort();
            let shown: Vec<&str> = conflicts.iter().take(5).map(String::as_str).collect();
            return Err(KlosetError::TargetExists(format!(
                "{} ({} different objects already at the target keys, e.g. {}; nothing was written)",
                self.api.display_location(),
                conflicts.len(),
                shown.join(", ")
            ))
            .into());
        }
        self.abort_stale_uploads(plan).await;
        Ok(())
    }

    async fn finish(&self, plan: &mut Plan, errors: &mut Vec<String>) -> Result<()> {
        self.abort_left_uploads().await;
        errors.append(&mut self.refused.lock().expect("refused"));
        let replayed = self.replayed.load(Ordering::Relaxed);
        if plan.replay && replayed > 0 {
            plan.notes.push(format!(
                "{replayed} versions and delete markers replayed oldest first; the bucket gave them new version ids (the snapshot keeps the source's: ls --versions)"
            ));
        }
        let lost = self.tags_lost.load(Ordering::Relaxed);
        if lost > 0 {
            plan.notes.push(format!(
                "{lost} objects were written without their tags: this server does not keep object tags"
            ));
        }
        Ok(())
    }

    fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
