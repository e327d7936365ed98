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
    /// Uploads a killed restore left for the keys this one writes: aborted (best effort; one
    /// that cannot be listed or aborted only costs its storage until the bucket's lifecycle).
    async fn abort_stale_uploads(&self, plan: &mut Plan) {
        let planned: std::collections::HashSet<String> = plan
            .files
            .iter()
            .chain(plan.history.iter().flatten())
            .map(Self::key)
            .collect();
        let open = match self.api.open_uploads().await {
            Ok(open) => open,
            Err(e) => {
                plan.notes.push(format!(
                    "multipart uploads left by an earlier restore could not be listed ({e:#})"
                ));
                return;
            }
        };
        // Only uploads begun before this restore: not a concurrent writer's.
        let stale: Vec<(String, String)> = open
            .into_iter()
            .filter(|u| planned.contains(&u.0) && u.2.is_some_and(|t| t < self.started))
            .map(|(key, id, _)| (key, id))
            .collect();
        if stale.is_empty() {
            return;
        }
        let n = stale.len();
        futures::stream::iter(stale)
            .for_each_concurrent(8, |(key, id)| async move {
                let _ = self.api.abort_multipart(&key, &id).await;
            })
            .await;
        plan.notes.push(format!(
            "{n} unfinished multipart uploads of the keys being restored, left by an earlier run, were aborted"
        ));
    }

    /// Whether the object at `key` has the headers, user metadata, storage class and tags this
    /// restore would give it. Headers the restore would not send (a server's default content
    /// type) are not compared.
    async fn described_alike(&self, key: &str, node: &Node) -> Result<bool> {
        // Not known alike is not alike: written again (or a conflict), never skipped.
        let Ok(Some(head)) = self.api.head(key).await else {
            return Ok(false);
        };
        let expected = headers_for(node, self.storage_class.as_deref());
        let mut class = "STANDARD".to_string();
        for (name, value) in &expected {
            match name.as_str() {
                "x-amz-tagging" => {}
                "x-amz-storage-class" => class = value.clone(),
                n if head.header(n).as_deref() != Some(value.as_str()) => return Ok(false),
                _ => {}
            }
        }
        let got_class = head.header("x-amz-storage-class");
        if got_class.as_deref().unwrap_or("STANDARD") != class {
            return Ok(false);
        }
        let meta = |n: &str| n.starts_with("x-amz-meta-");
        let want_meta = expected.iter().filter(|(n, _)| meta(n.as_str())).count();
        if head.headers.keys().filter(|n| meta(n.as_str())).count() != want_meta {
            return Ok(false);
        }
        // Tags the source could not read are not known to differ.
        let Some(want_tags) = node.s3.as_ref().map(|m| m.tags.clone()) else {
            return Ok(true);
        };
        let Some(want_tags) = want_tags else {
            return Ok(true);
        };
        let tagged = head.header("x-amz-tagging-count").is_some_and(|c| c != "0");
        if self.tagging.load(Ordering::Relaxed) != TAGGING_NONE && (tagged || !want_tags.is_empty())
        {
            if let Some(tags) = self.api.tags(key).await? {
                return Ok(tags == want_tags);
            }
        }
        Ok(true)
    }

    /// Uploads no feed will complete (a failed step's): aborted, never continued by the next
    /// version or left behind.
    async fn abort_left_uploads(&self) {
        let left: Vec<Upload> = self.uploads.lock().await.drain().map(|(_, u)| u).collect();
        for upload in left {
            let _ = self.api.abort_multipart(&upload.key, &upload.id).await;
        }
    }

    /// Counts what a replay wrote.
    fn written_version(&self, planned: &PlannedFile) {
        if planned
            .node
            .s3
            .as_ref()
            .is_some_and(|m| m.version_id.is_some())
        {
            self.replayed.fetch_add(1, Ordering::Relaxed);
        }
    }

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

    /// After an object (or a version) is written: its ACL, as the options say.
    async fn ensure_acl(&self, planned: &PlannedFile, version: Option<&str>) -> Result<()> {
        let Some(acl) = planned.node.s3.as_ref().and_then(|m| m.acl.as_ref()) else {
            return Ok(());
        };
        let Some(acl) = history::mapped_acl(acl, &self.acls) else {
            return Ok(());
        };
        let key = Self::key(planned);
        if let Err(e) = self.api.put_acl(&key, version, &acl).await {
            // An owner unknown here is this object's problem, not the restore's.
            self.refused
                .lock()
                .expect("refused")
                .push(format!("'{key}': its ACL was not set ({e:#}); acl_map=OLD=NEW maps owners, acls=false leaves ACLs out"));
        }
        Ok(())
    }

    /// Headers only a whole-object PUT can carry: lock state (with the Content-MD5 S3 wants
    /// then) and the additional checksums, which the server verifies.
    fn whole_put_headers(&self, node: &Node, data: &[u8]) -> Vec<(HeaderName, String)> {
        let Some(m) = &node.s3 else {
            return Vec::new();
        };
        let mut h = Vec::new();
        if self.object_lock.load(Ordering::Relaxed) {
            h = history::lock_headers(&m.retention, m.legal_hold, chrono::Utc::now());
        }
        if !h.is_empty() {
            use base64::Engine;
            let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(data));
            h.push((HeaderName::from_static("content-md5"), md5));
        }
        // One algorithm per object; the SDK header names it (moto reads only that).
        if let Some((alg, value)) = m.checksums.iter().next() {
            if let Ok(name) = HeaderName::try_from(format!("x-amz-checksum-{alg}")) {
                h.push((name, value.clone()));
                h.push((
                    HeaderName::from_static("x-amz-sdk-checksum-algorithm"),
                    alg.to_ascii_uppercase(),
                ));
            }
        }
        h
    }

    /// After an object with tags is written: makes sure the server kept them.
    async fn ensure_tags(&self, planned: &PlannedFile) -> Result<()> {
        let Some(tags) = planned
            .node
            .s3
            .as_ref()
            .and_then(|m| m.tags.as_ref())
            .filter(|t| !t.is_empty())
        else {
            return Ok(());
        };
        let key = Self::key(planned);
        let state = self.tagging.load(Ordering::Relaxed);
        if state == TAGGING_UNKNOWN {
            let kept = self.api.tags(&key).await?.as_ref() == Some(tags);
            if kept {
                self.tagging.store(TAGGING_IN_PUT, Ordering::Relaxed);
                return Ok(());
            }
        }
        if matches!(state, TAGGING_IN_PUT | TAGGING_NONE) {
            if state == TAGGING_NONE {
                self.tags_lost.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        let set = match self.api.put_tags(&key, tags).await {
            Ok(set) => set,
            Err(e) if remote::kind_of(&e).is_some() => {
                self.refused
                    .lock()
                    .expect("refused")
                    .push(format!("'{key}': its tags were not set ({e:#})"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let now = if set { TAGGING_SEPARATE } else { TAGGING_NONE };
        self.tagging.store(now, Ordering::Relaxed);
        if !set {
            self.tags_lost.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn key(planned: &PlannedFile) -> String {
        String::from_utf8_lossy(planned.relative()).into_owned()
    }

    /// The upload id of a multipart file, started on its first part.
    async fn upload_id(&self, file: usize, planned: &PlannedFile) -> Result<String> {
        let mut uploads = self.uploads.lock().await;
        if let Some(u) = uploads.get(&file) {
            return Ok(u.id.clone());
        }
        let mut headers = headers_for(&planned.node, self.storage_class.as_deref());
        if let (true, Some(m)) = (self.object_lock.load(Ordering::Relaxed), &planned.node.s3) {
            headers.extend(history::lock_headers(
                &m.retention,
                m.legal_hold,
                chrono::Utc::now(),
            ));
        }
        let id = self
            .api
            .create_multipart(&Self::key(planned), &headers)
            .await?;
        uploads.insert(
            file,
            Upload {
                key: Self::key(planned),
                id: id.clone(),
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }
}

/// An empty key would address the bucket itself (a PUT there is CreateBucket): a file at the
/// restored root's own path (a folder marker `/` of a snapshot's root) is not written.
fn refuse_empty_keys(plan: &mut Plan) {
    let Plan { files, notes, .. } = plan;
    let before = files.len();
    files.retain(|f| !f.relative().is_empty());
    if files.len() < before {
        notes.push(format!(
            "{} entries at the restored root's own key (an empty key) are not written: S3 has no such object",
            before - files.len()
        ));
    }
}

/// Keys are UTF-8, file names need not be: names that differ only in bytes that are not
/// UTF-8 become the same key. None of such files is written (each would overwrite the
/// other); each is reported, which makes the restore partial.
fn drop_colliding_keys(plan: &mut Plan) {
    let mut paths_of: HashMap<String, usize> = HashMap::new();
    for f in &plan.files {
        *paths_of.entry(S3Destination::key(f)).or_default() += 1;
    }
    let Plan { files, errors, .. } = plan;
    files.retain(|f| {
        let key = S3Destination::key(f);
        let n = paths_of[&key];
        if n > 1 {
            errors.push(format!(
                "not restored: '{}' and {} other file(s) with names that are not UTF-8 would all be the object '{key}'",
                f.relative().escape_ascii(),
                n - 1
            ));
        }
        n == 1
    });
}

#[async_trait]
impl ContentSink for S3Destination {
    async fn write(
        &self,
        file: usize,
        planned: &PlannedFile,
        segment: usize,
        _offset: u64,
        data: Bytes,
        whole: bool,
    ) -> Result<()> {
        let key = Self::key(planned);
        if planned.node.is_deleted() {
            // A delete marker of a replayed history: on a versioned bucket, a new marker.
            self.api.delete_object(&key).await?;
            self.replayed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if whole {
            let mut headers = headers_for(&planned.node, self.storage_class.as_deref());
            headers.extend(self.whole_put_headers(&planned.node, &data));
            let version = self.api.put(&key, data, &headers).await?;
            self.written_version(planned);
            self.ensure_tags(planned).await?;
            return self.ensure_acl(planned, version.as_deref()).await;
        }
        let upload = self.upload_id(file, planned).await?;
        let locked = self.object_lock.load(Ordering::Relaxed)
            && planned
                .node
                .s3
                .as_ref()
                .is_some_and(|m| m.retention.is_some() || m.legal_hold);
        let etag = self
            .api
            .upload_part(&key, &upload, segment + 1, data, locked)
            .await?;
        if let Some(u) = self.uploads.lock().await.get_mut(&file) {
            u.parts.insert(segment, etag);
        }
        Ok(())
    }

    async fn complete(&self, file: usize, planned: &PlannedFile, _segments: usize) -> Result<()> {
        let Some(upload) = self.uploads.lock().await.remove(&file) else {
            return Err(anyhow::anyhow!(
                "internal: no upload for {}",
                Self::key(planned)
            ));
        };
        let etags: Vec<String> = upload.parts.into_values().collect();
        let key = Self::key(planned);
        let done = self.api.complete_multipart(&key, &upload.id, &etags).await;
        if done.is_err() {
            let _ = self.api.abort_multipart(&key, &upload.id).await;
        }
        let version = done?;
        self.written_version(planned);
        self.ensure_tags(planned).await?;
        self.ensure_acl(planned, version.as_deref()).await
    }

    async fn abandon(&self, file: usize, planned: &PlannedFile) {
        // Never leave a partial upload behind (it is billed and invisible).
        if let Some(upload) = self.uploads.lock().await.remove(&file) {
            let _ = self
                .api
                .abort_multipart(&Self::key(planned), &upload.id)
                .await;
        }
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

impl S3Destination {
    /// Whether the object at `key` (ETag `etag`, empty if unknown) holds exactly the bytes of
    /// `pieces`, which must cover `size` from 0. It is read in ranges of at most READ_STEP,
    /// never held whole; every answer must name one ETag, so a rewrite mid-read is no match.
    async fn holds(&self, key: &str, etag: &str, size: u64, pieces: &[Piece]) -> Result<bool> {
        let mut next = 0;
        for p in pieces {
            if p.offset != next {
                return Ok(false);
            }
            next += p.len;
        }
        if next != size {
            return Ok(false);
        }
        let mut pinned = Some(etag.trim_matches('"').to_string()).filter(|e| !e.is_empty());
        for p in pieces {
            let mut sha = Sha256::new();
            let mut at = p.offset;
            while at < p.offset + p.len {
                let end = (at + READ_STEP).min(p.offset + p.len);
                let r = self.api.get(key, Some(at..end), None).await?;
                let body = match (r.status.as_u16(), r.body.len() as u64) {
                    (206, n) if n == end - at => r.body.clone(),
                    // A server that ignores Range sends the whole object.
                    (200, n) if n == size => r.body.slice(at as usize..end as usize),
                    // Gone or rewritten since it was listed: not what this restore would write.
                    (404 | 412, _) | (200 | 206, _) => return Ok(false),
                    _ => {
                        let what = format!("reading '{key}' to compare it");
                        return Err(self.api.status_error(&what, &r));
                    }
                };
                if let Some(now) = r.header("etag").map(|e| e.trim_matches('"').to_string()) {
                    if *pinned.get_or_insert_with(|| now.clone()) != now {
                        return Ok(false);
                    }
                }
                sha.update(&body);
                at = end;
            }
            if <[u8; 32]>::from(sha.finalize()) != p.sha256 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What an existing object's ETag says of whether it holds what this restore would write, whose
/// ETag is `ours`; None when it cannot tell. Only two single-PUT MD5s differ conclusively: a
/// multipart ETag depends on the part layout of whoever wrote the object, and on some servers
/// it is an opaque string (as may be any ETag of an encrypted object, or of a server without
/// ETags in listings and HEAD answers).
fn etag_says(stored: &str, ours: &str) -> Option<bool> {
    if stored.eq_ignore_ascii_case(ours) {
        return Some(true);
    }
    (is_md5(stored) && is_md5(ours)).then_some(false)
}

fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One segment of a candidate's content, as the sink saw it.
#[derive(Clone, Copy)]
struct Piece {
    offset: u64,
    len: u64,
    sha256: [u8; 32],
}

/// Computes the ETag S3 gives what this restore writes: MD5 of the bytes, or for multipart
/// uploads the MD5 of the parts' MD5s followed by `-<parts>`; and for the files in `verify`,
/// where each segment is and its SHA-256, to compare with the existing object's bytes.
#[derive(Default)]
struct EtagSink {
    parts: Mutex<HashMap<usize, BTreeMap<usize, [u8; 16]>>>,
    done: Mutex<Vec<(usize, String)>>,
    verify: std::collections::HashSet<usize>,
    pieces: Mutex<HashMap<usize, BTreeMap<usize, Piece>>>,
}

#[async_trait]
impl ContentSink for EtagSink {
    async fn write(
        &self,
        file: usize,
        _planned: &PlannedFile,
        segment: usize,
        offset: u64,
        data: Bytes,
        whole: bool,
    ) -> Result<()> {
        if self.verify.contains(&file) {
            let piece = Piece {
                offset,
                len: data.len() as u64,
                sha256: Sha256::digest(&data).into(),
            };
            let mut pieces = self.pieces.lock().expect("pieces");
            pieces.entry(file).or_default().insert(segment, piece);
        }
        let digest: [u8; 16] = Md5::digest(&data).into();
        if whole {
            self.done
                .lock()
                .expect("etags")
                .push((file, hex::encode(digest)));
        } else {
            self.parts
                .lock()
                .expect("parts")
                .entry(file)
                .or_default()
                .insert(segment, digest);
        }
        Ok(())
    }

    async fn complete(&self, file: usize, _planned: &PlannedFile, segments: usize) -> Result<()> {
        let parts = self
            .parts
            .lock()
            .expect("parts")
            .remove(&file)
            .unwrap_or_default();
        let mut all = Md5::new();
        for d in parts.values() {
            all.update(d);
        }
        let etag = format!("{}-{segments}", hex::encode(all.finalize()));
        self.done.lock().expect("etags").push((file, etag));
        Ok(())
    }
}

fn headers_for(node: &Node, storage_class: Option<&str>) -> Vec<(HeaderName, String)> {
    let mut h: Vec<(HeaderName, String)> = Vec::new();
    let named = |n: &'static str| HeaderName::from_static(n);
    match &node.s3 {
        Some(m) => {
            for (name, value) in [
                ("content-type", &m.content_type),
                ("content-encoding", &m.content_encoding),
                ("content-disposition", &m.content_disposition),
                ("content-language", &m.content_language),
                ("cache-control", &m.cache_control),
            ] {
                if let Some(v) = value {
                    h.push((named(name), v.clone()));
                }
            }
            for (k, v) in &m.user_metadata {
                if let Ok(name) = HeaderName::try_from(format!("x-amz-meta-{k}")) {
                    h.push((name, v.clone()));
                }
            }
            if let Some(tags) = m.tags.as_ref().filter(|t| !t.is_empty()) {
                h.push((named("x-amz-tagging"), encode_tags(tags)));
            }
            if let Some(class) = storage_class
                .map(str::to_string)
                .or_else(|| m.storage_class.clone())
            {
                h.push((named("x-amz-storage-class"), class));
            }
        }
        None => {
            let mime = mime_guess::from_path(&node.name).first_or_octet_stream();
            h.push((named("content-type"), mime.essence_str().to_string()));
            // So that a later restore to a filesystem can put these back.
            h.push((named("x-amz-meta-kloset-mode"), format!("{:o}", node.mode)));
            h.push((named("x-amz-meta-kloset-mtime-ns"), node.mtime.to_string()));
            h.push((named("x-amz-meta-kloset-uid"), node.uid.to_string()));
            h.push((named("x-amz-meta-kloset-gid"), node.gid.to_string()));
            if let Some(class) = storage_class {
                h.push((named("x-amz-storage-class"), class.to_string()));
            }
        }
    }
    h
}

fn encode_tags(tags: &BTreeMap<String, String>) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    tags.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &[u8]) -> PlannedFile {
        PlannedFile {
            path: path.to_vec(),
            node: Node::new("f".into(), NodeKind::File),
        }
    }

    #[test]
    fn only_equal_etags_or_two_differing_md5s_decide_without_reading() {
        let (md5, other) = ("0123456789abcdef0123456789abcdef", "f".repeat(32));
        let multipart = "0123456789abcdef0123456789abcdef-3";
        assert_eq!(etag_says(md5, md5), Some(true));
        assert_eq!(etag_says(&md5.to_uppercase(), md5), Some(true));
        assert_eq!(etag_says(multipart, multipart), Some(true));
        assert_eq!(etag_says(&other, md5), Some(false));
        // Another part layout, a single PUT of what we upload in parts, or the reverse.
        assert_eq!(etag_says(&format!("{other}-3"), multipart), None);
        assert_eq!(etag_says(&format!("{other}-2"), multipart), None);
        assert_eq!(etag_says(md5, multipart), None);
        assert_eq!(etag_says(multipart, md5), None);
        // Opaque, or none at all.
        assert_eq!(etag_says("opaque-1f2e3d", multipart), None);
        assert_eq!(etag_says("opaque-1f2e3d", md5), None);
        assert_eq!(etag_says("", md5), None);
        assert!(
            is_md5(md5) && !is_md5(multipart) && !is_md5(&md5[1..]) && !is_md5(&"g".repeat(32))
        );
    }

    #[test]
    fn names_that_become_one_key_are_all_reported_and_none_written() {
        let mut plan = Plan {
            files: vec![
                file(b"/d/a\xff"),
                file(b"/d/a\xfe"),
                file(b"/d/b"),
                file(b"/d/a\xef\xbf\xbd"),
            ],
            ..Plan::default()
        };
        drop_colliding_keys(&mut plan);
        let kept: Vec<&[u8]> = plan.files.iter().map(|f| f.path.as_slice()).collect();
        assert_eq!(kept, [&b"/d/b"[..]]);
        assert_eq!(plan.errors.len(), 3, "{:?}", plan.errors);
        assert!(plan.errors[0].contains("d/a\\xff") && plan.errors[0].contains("2 other"));
    }
}
