//! Restoring into an S3 bucket: every file entry becomes an object at `prefix + path relative
//! to the restored root`, with its saved metadata and tags (or, for filesystem snapshots, a
//! content-type guessed from the name and mode/mtime/owner kept as user metadata).
//!
//! Existing objects: identical ones (same size and the ETag this restore would produce) are
//! skipped, so an interrupted restore can simply be run again; any other existing object is a
//! conflict that stops the restore before anything is written, unless `--force`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use http::header::HeaderName;
use md5::{Digest, Md5};
use tokio::sync::Semaphore;

use super::browse;
use super::restore_fs::RestoreRoot;
use crate::connectors::s3_api::S3Api;
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::Repo;

/// Objects above this size go up as multipart uploads, in parts of at least this size.
const PART: u64 = 16 * 1024 * 1024;
/// Parts of one object in flight at once, and multipart objects at once: bounds memory.
const PARTS_IN_FLIGHT: usize = 4;
const BIG_OBJECTS_IN_FLIGHT: usize = 2;

pub struct S3RestoreOptions {
    pub force: bool,
    pub quiet: bool,
    pub concurrency: usize,
    pub storage_class: Option<String>,
}

#[derive(Debug, Default)]
pub struct S3RestoreSummary {
    pub objects: u64,
    pub bytes: u64,
    pub skipped_identical: u64,
    pub written: Vec<String>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
}

struct Target {
    key: String,
    node: Node,
}

pub async fn restore_s3(
    repo: Arc<Repo>,
    root: RestoreRoot,
    api: Arc<S3Api>,
    opts: S3RestoreOptions,
) -> Result<S3RestoreSummary> {
    let mut summary = S3RestoreSummary::default();
    let targets = collect(&repo, root, &mut summary.notes).await?;
    let existing: HashMap<String, (u64, Option<String>)> = match api.list().await {
        Ok(list) => list
            .into_iter()
            .map(|o| (o.key, (o.size, o.etag)))
            .collect(),
        Err(e) if opts_bucket_missing(&e) => {
            if !api.create_bucket().await? {
                return Err(e);
            }
            HashMap::new()
        }
        Err(e) => return Err(e),
    };

    // Decide every existing key before writing anything.
    let mut to_write = Vec::new();
    let mut conflicts = Vec::new();
    for t in targets {
        match existing.get(&t.key) {
            None => to_write.push(t),
            Some((size, etag)) => {
                let same = *size == t.node.size
                    && match etag {
                        Some(e) => expected_etag(&repo, &t.node).await? == e.trim_matches('"'),
                        None => false,
                    };
                if same {
                    summary.skipped_identical += 1;
                } else if opts.force {
                    to_write.push(t);
                } else {
                    conflicts.push(t.key);
                }
            }
        }
    }
    if !conflicts.is_empty() {
        let shown: Vec<&str> = conflicts.iter().take(5).map(String::as_str).collect();
        return Err(KlosetError::TargetExists(format!(
            "{} ({} different objects already at the target keys, e.g. {}; nothing was written)",
            api.display_location(),
            conflicts.len(),
            shown.join(", ")
        ))
        .into());
    }

    let total: u64 = to_write.iter().map(|t| t.node.size).sum();
    let progress = Progress::new(opts.quiet, "restore", Some(total));
    let written = Arc::new(Mutex::new(Vec::new()));
    let big = Arc::new(Semaphore::new(BIG_OBJECTS_IN_FLIGHT));
    let failed = Arc::new(AtomicBool::new(false));
    let results: Vec<(String, Result<()>)> = stream::iter(to_write)
        .map(|t| {
            let (repo, api, progress, written, big) = (
                repo.clone(),
                api.clone(),
                progress.clone(),
                written.clone(),
                big.clone(),
            );
            let storage_class = opts.storage_class.clone();
            let failed = failed.clone();
            async move {
                // After a failure (typically: the server went away) start nothing new; what is
                // written stays, and running the restore again finishes the rest.
                if failed.load(Ordering::Relaxed) {
                    return (
                        t.key,
                        Err(anyhow::anyhow!("not attempted after an earlier failure")),
                    );
                }
                let headers = headers_for(&t.node, storage_class.as_deref());
                let r = if t.node.size <= PART {
                    put_whole(&repo, &api, &t, &headers).await
                } else {
                    let _permit = big.acquire().await.expect("semaphore open");
                    put_multipart(&repo, &api, &t, &headers, &progress).await
                };
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                if r.is_ok() {
                    if t.node.size <= PART {
                        progress.add_bytes(t.node.size);
                    }
                    written.lock().expect("written").push(t.key.clone());
                }
                (t.key, r)
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    progress.finish();
    let mut not_attempted = 0;
    for (key, r) in results {
        match r {
            Err(e) if e.to_string().starts_with("not attempted") => not_attempted += 1,
            Err(e) => summary.errors.push(format!("'{key}': {e:#}")),
            Ok(()) => {}
        }
    }
    if not_attempted > 0 {
        summary.errors.push(format!(
            "{not_attempted} more objects not attempted after the first failure"
        ));
    }
    summary.written = std::mem::take(&mut *written.lock().expect("written"));
    summary.objects = summary.written.len() as u64;
    summary.bytes = total;
    Ok(summary)
}

fn opts_bucket_missing(e: &anyhow::Error) -> bool {
    e.to_string().contains("bucket does not exist")
}

/// Every file under the root with its key relative to the root: the path segments joined by
/// `/`, which for S3 snapshots is exactly the original key (`a//b`, `dir/` included).
async fn collect(repo: &Repo, root: RestoreRoot, notes: &mut Vec<String>) -> Result<Vec<Target>> {
    let id = match root {
        RestoreRoot::Tree(id) => id,
        RestoreRoot::Node(node) => {
            return Ok(vec![Target {
                key: node.name.clone(),
                node: *node,
            }])
        }
    };
    let mut out = Vec::new();
    for (path, node) in browse::walk_all(repo, id, "").await? {
        // walk_all paths start with the separator before the first name.
        let key = path[1..].to_string();
        match node.kind {
            NodeKind::Dir => {}
            NodeKind::File => out.push(Target { key, node }),
            NodeKind::Symlink => notes.push(format!(
                "symlink '{key}' is not restored to S3 (S3 has no links)"
            )),
        }
    }
    Ok(out)
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

async fn read_all(repo: &Repo, ids: &[Id]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for id in ids {
        out.extend_from_slice(&repo.read_blob(id).await?);
    }
    Ok(out)
}

/// Consecutive blobs grouped into parts of at least PART bytes (the last may be smaller).
fn part_layout(repo: &Repo, node: &Node) -> Result<Vec<Vec<Id>>> {
    let mut parts = vec![Vec::new()];
    let mut size = 0u64;
    for id in &node.content {
        let loc = repo.index.get(id).ok_or_else(|| {
            KlosetError::Integrity(format!(
                "blob {} is missing from the index: run 'kloset check'",
                id.short()
            ))
        })?;
        if size >= PART {
            parts.push(Vec::new());
            size = 0;
        }
        parts.last_mut().expect("one part").push(*id);
        size += loc.raw_length as u64;
    }
    Ok(parts)
}

/// The ETag S3 gives what this restore writes: MD5 of the bytes, or for multipart uploads the
/// MD5 of the parts' MD5s followed by `-<parts>`.
async fn expected_etag(repo: &Repo, node: &Node) -> Result<String> {
    if node.size <= PART {
        return Ok(hex::encode(Md5::digest(
            read_all(repo, &node.content).await?,
        )));
    }
    let parts = part_layout(repo, node)?;
    let mut all = Md5::new();
    for p in &parts {
        all.update(Md5::digest(read_all(repo, p).await?));
    }
    Ok(format!("{}-{}", hex::encode(all.finalize()), parts.len()))
}

async fn put_whole(
    repo: &Repo,
    api: &S3Api,
    t: &Target,
    headers: &[(HeaderName, String)],
) -> Result<()> {
    let body = read_all(repo, &t.node.content).await?;
    api.put(&t.key, Bytes::from(body), headers).await
}

async fn put_multipart(
    repo: &Repo,
    api: &S3Api,
    t: &Target,
    headers: &[(HeaderName, String)],
    progress: &Progress,
) -> Result<()> {
    let parts = part_layout(repo, &t.node)?;
    let upload = api.create_multipart(&t.key, headers).await?;
    let upload_id = upload.as_str();
    let uploaded: Result<Vec<String>> = stream::iter(parts.into_iter().enumerate())
        .map(|(i, ids)| async move {
            let body = read_all(repo, &ids).await?;
            let n = body.len() as u64;
            let etag = api
                .upload_part(&t.key, upload_id, i + 1, Bytes::from(body))
                .await?;
            progress.add_bytes(n);
            Ok(etag)
        })
        .buffered(PARTS_IN_FLIGHT)
        .try_collect()
        .await;
    let done = match uploaded {
        Ok(etags) => api.complete_multipart(&t.key, &upload, &etags).await,
        Err(e) => Err(e),
    };
    if let Err(e) = done {
        // Never leave a partial upload behind (it is billed and invisible).
        let _ = api.abort_multipart(&t.key, &upload).await;
        return Err(e);
    }
    Ok(())
}
