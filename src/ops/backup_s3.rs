//! Backing up an S3 bucket (or a prefix of one): every object becomes a file entry whose path is
//! its key split on `/`, with its metadata and tags, so a restore to S3 can reproduce the bucket
//! key for key. Objects are fetched with many requests in flight; an object whose key, size and
//! ETag match the parent snapshot is reused without a GET.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use futures::{stream, StreamExt, TryStreamExt};
use http::StatusCode;

use super::backup::{parent_of, BackupOptions, BackupOutcome, Pending, Walked, INTERRUPTED};
use super::saver::{BlobSaver, WalkStats};
use crate::connectors::s3_api::{Listed, Response, S3Api};
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind, S3Meta, Tree};
use crate::repo::Repo;

/// Objects up to this size are fetched in one GET; larger ones in ranged parts of this size.
const PART: u64 = 16 * 1024 * 1024;
/// Ranged parts of one object in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

const TAGS_UNKNOWN: u8 = 0;
const TAGS_YES: u8 = 1;
const TAGS_NO: u8 = 2;

struct Fetcher {
    api: Arc<S3Api>,
    saver: Arc<BlobSaver>,
    progress: Progress,
    stats: WalkStats,
    errors: Mutex<Vec<String>>,
    /// Probed on the first object: servers without tagging are asked once, not per object.
    tags: AtomicU8,
}

pub async fn backup_s3(
    repo: Arc<Repo>,
    api: Arc<S3Api>,
    opts: BackupOptions,
) -> Result<BackupOutcome> {
    let started = Instant::now();
    let source_key = format!("s3:{}", api.display_location());
    let parent = parent_of(&repo, &source_key, opts.force).await?;
    // Listing first: a missing bucket or a permission problem fails before anything is stored.
    let listed = api.list().await?;
    if let Some(ms) = std::env::var("KLOSET_TEST_PAUSE_AFTER_LIST_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // Lets tests change the bucket between the listing and the reads, deterministically.
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let previous = match &parent {
        Some((_, snap)) => objects_of(&repo, snap.tree).await.unwrap_or_default(),
        None => HashMap::new(),
    };
    let (saver, uploader) = BlobSaver::start(repo.clone(), opts.concurrency);
    let total: u64 = listed.iter().map(|o| o.size).sum();
    let fetcher = Arc::new(Fetcher {
        api,
        saver: saver.clone(),
        progress: Progress::new(opts.quiet, "backup", Some(total)),
        stats: WalkStats::default(),
        errors: Mutex::new(Vec::new()),
        tags: AtomicU8::new(TAGS_UNKNOWN),
    });
    let count = listed.len();
    let nodes: Result<Vec<Option<(String, Node)>>> = stream::iter(listed)
        .map(|obj| {
            let fetcher = fetcher.clone();
            let prev = previous.get(&obj.key).cloned();
            async move {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    return Err(KlosetError::Interrupted.into());
                }
                let node = match prev.filter(|p| unchanged(p, &obj)) {
                    Some(mut node) => {
                        fetcher.progress.add_bytes(obj.size);
                        refresh_listing_fields(&mut node, &obj);
                        Some(node)
                    }
                    None => fetcher.fetch(&obj).await?,
                };
                if let Some(n) = &node {
                    let done = fetcher.stats.files.fetch_add(1, Ordering::Relaxed) + 1;
                    fetcher.stats.bytes.fetch_add(n.size, Ordering::Relaxed);
                    fetcher
                        .progress
                        .set_message(format!("{done}/{count} objects"));
                }
                Ok(node.map(|n| (obj.key, n)))
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .try_collect()
        .await;
    let progress = fetcher.progress.clone();
    let tree = match nodes {
        Ok(nodes) => {
            let saver = saver.clone();
            let dirs = &fetcher.stats.dirs;
            let objects: Vec<(String, Node)> = nodes.into_iter().flatten().collect();
            let (tree, dir_count) = tokio::task::spawn_blocking(move || {
                let mut root = DirBuild::default();
                for (key, node) in objects {
                    root.insert(&key, node);
                }
                let mut dirs = 0;
                let tree = root
                    .save(&saver, &mut dirs)
                    .and_then(|id| saver.flush().map(|_| id));
                (tree, dirs)
            })
            .await?;
            dirs.store(dir_count, Ordering::Relaxed);
            tree
        }
        Err(e) => Err(e),
    };
    let fetcher =
        Arc::try_unwrap(fetcher).map_err(|_| anyhow::anyhow!("internal: fetcher still shared"))?;
    let walked = Walked {
        tree,
        stats: fetcher.stats,
        errors: fetcher.errors.into_inner().unwrap_or_default(),
    };
    drop(fetcher.saver);
    let pending = Pending {
        repo,
        saver,
        uploader,
        progress,
        started,
        source_key,
        parent,
    };
    pending.commit(walked, opts).await
}

fn unchanged(prev: &Node, obj: &Listed) -> bool {
    prev.size == obj.size
        && prev
            .s3
            .as_ref()
            .is_some_and(|m| m.etag.is_some() && m.etag == obj.etag)
}

fn refresh_listing_fields(node: &mut Node, obj: &Listed) {
    if let Some(m) = node.s3.as_mut() {
        m.last_modified = obj.last_modified.clone();
        if obj.storage_class.is_some() {
            m.storage_class = obj.storage_class.clone();
        }
    }
    node.mtime = mtime_of(obj.last_modified.as_deref());
}

impl Fetcher {
    /// Ok(None): the object could not be read; reported and counted, the backup goes on.
    async fn fetch(&self, obj: &Listed) -> Result<Option<Node>> {
        let mut etag = obj.etag.clone();
        let mut size = obj.size;
        // An object rewritten while we read it is read again, whole, under its new ETag.
        for _attempt in 0..3 {
            match self.fetch_once(obj, size, etag.as_deref()).await? {
                Fetched::Done(node) => {
                    self.stats.files_read.fetch_add(1, Ordering::Relaxed);
                    return Ok(Some(*node));
                }
                Fetched::Failed(why) => {
                    self.report(format!("object '{}' not in this snapshot: {why}", obj.key));
                    return Ok(None);
                }
                Fetched::Gone => {
                    self.report(format!(
                        "object '{}' was deleted after it was listed: not in this snapshot",
                        obj.key
                    ));
                    return Ok(None);
                }
                Fetched::Changed => match self.api.head(&obj.key).await? {
                    Some(h) => {
                        etag = h.header("etag");
                        size = h
                            .header("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(size);
                    }
                    None => {
                        self.report(format!(
                            "object '{}' was deleted while it was read: not in this snapshot",
                            obj.key
                        ));
                        return Ok(None);
                    }
                },
            }
        }
        self.report(format!(
            "object '{}' kept changing while it was read: not in this snapshot",
            obj.key
        ));
        Ok(None)
    }

    async fn fetch_once(&self, obj: &Listed, size: u64, etag: Option<&str>) -> Result<Fetched> {
        let mut content = Vec::new();
        let mut carry = Vec::new();
        let mut first: Option<Response> = None;
        let ranges: Vec<Option<std::ops::Range<u64>>> = if size <= PART {
            vec![None]
        } else {
            (0..size)
                .step_by(PART as usize)
                .map(|s| Some(s..(s + PART).min(size)))
                .collect()
        };
        let n = ranges.len();
        let mut parts = stream::iter(ranges)
            .map(|range| self.api.get(&obj.key, range, etag))
            .buffered(PARTS_IN_FLIGHT);
        let mut index = 0;
        let mut received = 0u64;
        while let Some(resp) = parts.next().await {
            let resp = resp?;
            match resp.status {
                s if s.is_success() => {}
                StatusCode::NOT_FOUND => return Ok(Fetched::Gone),
                StatusCode::PRECONDITION_FAILED => return Ok(Fetched::Changed),
                // The server answered, so it is this object that cannot be read (a key the
                // signer cannot address, a permission on one object): report it, go on.
                _ => {
                    let why = self.api.status_error("reading it", &resp);
                    return Ok(Fetched::Failed(why.to_string()));
                }
            }
            // Servers that ignore If-Match still name the version they sent: a part from another
            // version means the object changed mid-read.
            let part_etag = resp.header("etag");
            if let (Some(first), Some(this)) =
                (first.as_ref().and_then(|f| f.header("etag")), &part_etag)
            {
                if &first != this {
                    return Ok(Fetched::Changed);
                }
            }
            if let (Some(want), Some(got)) = (etag, &part_etag) {
                if want != got {
                    return Ok(Fetched::Changed);
                }
            }
            received += resp.body.len() as u64;
            index += 1;
            let last = index == n;
            let body = resp.body.clone();
            let saver = self.saver.clone();
            let progress = self.progress.clone();
            let (c, ids) = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, Vec<Id>)> {
                let mut ids = Vec::new();
                saver.save_piece(&mut carry, &body, last, &mut ids)?;
                progress.add_bytes(body.len() as u64);
                Ok((carry, ids))
            })
            .await??;
            carry = c;
            content.extend(ids);
            if first.is_none() {
                first = Some(resp);
            }
        }
        let Some(head) = first else {
            return Ok(Fetched::Gone);
        };
        let mut node = Node::new(String::new(), NodeKind::File);
        node.mode = 0o644;
        if received != size {
            return Ok(Fetched::Changed);
        }
        node.size = received;
        node.content = content;
        node.mtime = mtime_of(obj.last_modified.as_deref());
        node.s3 = Some(self.metadata(obj, &head).await?);
        Ok(Fetched::Done(Box::new(node)))
    }

    async fn metadata(&self, obj: &Listed, head: &Response) -> Result<S3Meta> {
        let mut user_metadata = BTreeMap::new();
        for (name, value) in head.headers.iter() {
            if let Some(k) = name.as_str().strip_prefix("x-amz-meta-") {
                user_metadata.insert(
                    k.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                );
            }
        }
        let tags = if self.tags.load(Ordering::Relaxed) == TAGS_NO {
            None
        } else {
            let t = self.api.tags(&obj.key).await?;
            self.tags.store(
                if t.is_some() { TAGS_YES } else { TAGS_NO },
                Ordering::Relaxed,
            );
            t
        };
        Ok(S3Meta {
            key: obj.key.clone(),
            etag: head.header("etag").or_else(|| obj.etag.clone()),
            last_modified: obj.last_modified.clone(),
            content_type: head.header("content-type"),
            content_encoding: head.header("content-encoding"),
            content_disposition: head.header("content-disposition"),
            content_language: head.header("content-language"),
            cache_control: head.header("cache-control"),
            user_metadata,
            tags,
            storage_class: head
                .header("x-amz-storage-class")
                .or_else(|| obj.storage_class.clone()),
        })
    }

    fn report(&self, line: String) {
        self.progress.warn(&format!("error: {line}"));
        self.errors.lock().expect("errors").push(line);
    }
}

enum Fetched {
    Done(Box<Node>),
    Gone,
    Changed,
    Failed(String),
}

fn mtime_of(last_modified: Option<&str>) -> i64 {
    last_modified
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0)
}

/// The folder hierarchy the keys imply. A key's last segment is a file (possibly with an empty
/// name, for folder markers like `dir/`); every other segment is a directory.
#[derive(Default)]
struct DirBuild {
    dirs: BTreeMap<String, DirBuild>,
    files: Vec<Node>,
}

impl DirBuild {
    fn insert(&mut self, key: &str, mut node: Node) {
        let mut parts: Vec<&str> = key.split('/').collect();
        let name = parts.pop().unwrap_or_default();
        let mut dir = self;
        for p in parts {
            dir = dir.dirs.entry(p.to_string()).or_default();
        }
        node.name = name.to_string();
        dir.files.push(node);
    }

    fn save(self, saver: &BlobSaver, dirs: &mut u64) -> Result<Id> {
        let mut nodes = self.files;
        for (name, sub) in self.dirs {
            *dirs += 1;
            let mut node = Node::new(name, NodeKind::Dir);
            node.mode = 0o755;
            node.subtree = Some(sub.save(saver, dirs)?);
            nodes.push(node);
        }
        nodes.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then((a.kind as u8).cmp(&(b.kind as u8)))
        });
        saver.save_tree(&Tree { nodes })
    }
}

/// Every object node of a snapshot, by key: the parent for change detection.
async fn objects_of(repo: &Repo, root: Id) -> Result<HashMap<String, Node>> {
    let mut out = HashMap::new();
    let mut level = vec![root];
    while !level.is_empty() {
        let trees: Vec<Tree> = repo
            .load_trees(std::mem::take(&mut level))
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        for tree in trees {
            for node in tree.nodes {
                match node.kind {
                    NodeKind::Dir => level.extend(node.subtree),
                    _ => {
                        if let Some(key) = node.s3.as_ref().map(|m| m.key.clone()) {
                            out.insert(key, node);
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
