//! An S3 bucket (or a prefix of one) as a backup source: every object becomes a file entry
//! whose path is its key split on `/`, with its metadata and tags, so a restore to S3 can
//! reproduce the bucket key for key. The bucket is listed a folder at a time, as the archiver
//! reaches each folder (`delimiter=/`), so memory follows the folders in flight, not the bucket,
//! and the archiver's parallel directories list in parallel; the root is listed first (a
//! missing bucket or a refused credential fails before anything is stored). Objects are
//! fetched with many requests in flight, big ones in ranged parts pinned to the listed ETag. An
//! object whose key, size and ETag match the parent snapshot is reused without a GET.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use futures::{stream, StreamExt, TryStreamExt};
use http::StatusCode;

use super::client::{Listed, Response, S3Api};
use crate::archive::{Entry, Source, Work};
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind, S3Meta};

/// Objects up to this size are fetched in one GET; larger ones in ranged parts of this size.
const PART: u64 = 16 * 1024 * 1024;
/// Ranged parts of one object in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Bytes of object content held in flight across all fetches, in units of `BUDGET_UNIT`: many
/// small objects at once, but not as many 16 MiB ones.
const FETCH_BUDGET: u64 = 128 * 1024 * 1024;
const BUDGET_UNIT: u64 = 64 * 1024;

const TAGS_UNKNOWN: u8 = 0;
const TAGS_YES: u8 = 1;
const TAGS_NO: u8 = 2;

pub struct S3Source {
    api: Arc<S3Api>,
    /// The root level, listed by `open`, handed to the first `children` of the root.
    root_level: std::sync::Mutex<Option<(Vec<Listed>, Vec<String>)>>,
    excludes: crate::filter::Patterns,
    concurrency: usize,
    /// Objects being fetched at once, across the batches the archiver has in flight.
    fetches: tokio::sync::Semaphore,
    /// Bytes in flight across those fetches (`fetch_units`).
    fetch_bytes: tokio::sync::Semaphore,
    /// Probed on the first object: servers without tagging are asked once, not per object.
    tags: AtomicU8,
}

pub enum Handle {
    /// A folder: its key prefix relative to the source, empty or ending in `/`.
    Dir(String),
    Object(Listed),
}

impl S3Source {
    /// Lists the root level: a bucket that cannot be listed fails here.
    pub async fn open(
        api: Arc<S3Api>,
        concurrency: usize,
        excludes: &crate::filter::Patterns,
    ) -> Result<S3Source> {
        let root_level = api.list_level("").await?;
        Ok(S3Source {
            api,
            root_level: std::sync::Mutex::new(Some(root_level)),
            excludes: excludes.clone(),
            concurrency,
            fetches: tokio::sync::Semaphore::new(concurrency.max(1) * 2),
            fetch_bytes: tokio::sync::Semaphore::new((FETCH_BUDGET / BUDGET_UNIT) as usize),
            tags: AtomicU8::new(TAGS_UNKNOWN),
        })
    }

    async fn level(&self, dir: &str) -> Result<(Vec<Listed>, Vec<String>)> {
        if dir.is_empty() {
            if let Some(root) = self.root_level.lock().expect("root level").take() {
                return Ok(root);
            }
        }
        let level = self.api.list_level(dir).await?;
        pause_for_tests(dir).await;
        Ok(level)
    }
}

/// `KLOSET_TEST_PAUSE_AFTER_LIST=PREFIX:MS:FILE`: after listing a folder below PREFIX, append
/// its name to FILE and wait, so a test can change the bucket between a listing and the
/// reads, deterministically (it waits for FILE to name what it needs).
async fn pause_for_tests(dir: &str) {
    let Ok(spec) = std::env::var("KLOSET_TEST_PAUSE_AFTER_LIST") else {
        return;
    };
    let mut parts = spec.splitn(3, ':');
    let (Some(prefix), Some(ms), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    if dir.len() > prefix.len() && dir.starts_with(prefix) {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
        {
            let _ = writeln!(f, "{dir}");
        }
        let ms = ms.parse().unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

/// One folder's entries from its listing, sorted as a tree records them (by name, a file
/// before a folder of the same name). An object listed below the folder (a server that
/// ignores the delimiter) stands for the folder it is in: it is read when that is listed.
fn level_entries(
    dir: &str,
    objects: Vec<Listed>,
    folders: Vec<String>,
    excludes: &crate::filter::Patterns,
) -> Result<Vec<Entry<Handle>>> {
    let mut subs: BTreeSet<String> = BTreeSet::new();
    for f in folders {
        let name = f
            .strip_prefix(dir)
            .and_then(|rest| rest.strip_suffix('/'))
            .ok_or_else(|| anyhow!("unreadable listing: folder '{f}' is not inside '{dir}'"))?;
        subs.insert(name.to_string());
    }
    let mut out = Vec::new();
    for obj in objects {
        let Some(rest) = obj.key.strip_prefix(dir) else {
            return Err(anyhow!(
                "unreadable listing: object '{}' is not inside '{dir}'",
                obj.key
            ));
        };
        if let Some((folder, _)) = rest.split_once('/') {
            subs.insert(folder.to_string());
            continue;
        }
        if excludes.matches_key(&obj.key) {
            continue;
        }
        out.push(Entry {
            node: listed_node(&obj),
            handle: Handle::Object(obj),
        });
    }
    for name in subs {
        // An excluded folder is not listed at all (its objects would all be excluded).
        if excludes.matches_folder(&format!("{dir}{name}")) {
            continue;
        }
        let mut node = Node::new(name.clone(), NodeKind::Dir);
        node.mode = 0o755;
        out.push(Entry {
            node,
            handle: Handle::Dir(format!("{dir}{name}/")),
        });
    }
    out.sort_by(|a, b| {
        a.node
            .name
            .cmp(&b.node.name)
            .then((a.node.kind as u8).cmp(&(b.node.kind as u8)))
    });
    Ok(out)
}

#[async_trait]
impl Source for S3Source {
    type Handle = Handle;

    fn source_key(&self) -> String {
        format!("s3:{}", self.api.display_location())
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    async fn root(&self) -> Result<Entry<Handle>> {
        Ok(Entry {
            node: Node::new(String::new(), NodeKind::Dir),
            handle: Handle::Dir(String::new()),
        })
    }

    /// A folder that cannot be listed (after retries) is reported and left out, as a
    /// directory that cannot be read is: the backup goes on and ends partial (exit 3).
    async fn children(&self, dir: &Entry<Handle>, work: &Work) -> Result<Vec<Entry<Handle>>> {
        let Handle::Dir(dir) = &dir.handle else {
            return Ok(Vec::new());
        };
        let listed = self
            .level(dir)
            .await
            .and_then(|(objects, folders)| level_entries(dir, objects, folders, &self.excludes));
        match listed {
            Ok(entries) => Ok(entries),
            Err(e) => {
                work.report(format!(
                    "folder '{dir}' could not be listed: {e:#}; its objects are not in this snapshot"
                ));
                Ok(Vec::new())
            }
        }
    }

    fn unchanged(&self, node: &Node, prev: &Node) -> bool {
        let (Some(now), Some(then)) = (&node.s3, &prev.s3) else {
            return false;
        };
        prev.size == node.size && same_object(now, then)
    }

    fn reuse(&self, node: Node, prev: &Node) -> Node {
        // Metadata and tags come from the parent (tags changed in place, which moves neither
        // ETag nor Last-Modified, are seen by `backup --force`); the listing's storage class
        // is refreshed.
        let mut reused = prev.clone();
        if let (Some(m), Some(now)) = (reused.s3.as_mut(), &node.s3) {
            if now.storage_class.is_some() {
                m.storage_class = now.storage_class.clone();
            }
        }
        reused.mtime = node.mtime;
        reused
    }

    async fn read(&self, entry: Entry<Handle>, work: &Work) -> Result<Option<Node>> {
        let Handle::Object(obj) = &entry.handle else {
            return Ok(None);
        };
        let node = self.fetch(obj, work).await?;
        Ok(node.map(|mut n| {
            n.name = entry.node.name;
            n
        }))
    }

    /// A small GET costs a round trip, not bandwidth: the objects of a batch are fetched with
    /// many requests in flight (one at a time, 51 small objects took 1.7 s on a local Garage).
    async fn read_many(
        &self,
        entries: Vec<Entry<Handle>>,
        work: &Work,
    ) -> Result<Vec<Option<Node>>> {
        stream::iter(entries)
            .map(|e| self.read(e, work))
            .buffered(self.concurrency.max(1))
            .try_collect()
            .await
    }
}

/// The share of `FETCH_BUDGET` one object holds while it is fetched: its size, or the parts of
/// it in flight at once, and never more than the whole budget (a huge object still goes alone).
fn fetch_units(size: u64) -> u32 {
    let in_flight = size.min(PART * PARTS_IN_FLIGHT as u64);
    in_flight
        .div_ceil(BUDGET_UNIT)
        .clamp(1, FETCH_BUDGET / BUDGET_UNIT) as u32
}

/// What the listing alone says about an object.
fn listed_node(obj: &Listed) -> Node {
    let name = obj.key.rsplit('/').next().unwrap_or_default().to_string();
    let mut node = Node::new(name, NodeKind::File);
    node.mode = 0o644;
    node.size = obj.size;
    node.mtime = mtime_of(obj.last_modified.as_deref());
    node.s3 = Some(Box::new(S3Meta {
        key: obj.key.clone(),
        etag: obj.etag.clone(),
        last_modified: obj.last_modified.clone(),
        storage_class: obj.storage_class.clone(),
        ..Default::default()
    }));
    node
}

impl S3Source {
    /// Ok(None): the object could not be read; reported and counted, the backup goes on.
    async fn fetch(&self, obj: &Listed, work: &Work) -> Result<Option<Node>> {
        let _permit = self.fetches.acquire().await?;
        let _bytes = self.fetch_bytes.acquire_many(fetch_units(obj.size)).await?;
        let mut etag = obj.etag.clone();
        let mut size = obj.size;
        // An object rewritten while we read it is read again, whole, under its new ETag.
        for _attempt in 0..3 {
            match self.fetch_once(obj, size, etag.as_deref(), work).await? {
                Fetched::Done(node) => {
                    return Ok(Some(*node));
                }
                Fetched::Failed(why) if super::client::has_dot_segment(&obj.key) => {
                    work.report(format!(
                        "object '{}' not in this snapshot: this server refused a request for a key with a '.' or '..' segment ({why})",
                        obj.key
                    ));
                    return Ok(None);
                }
                Fetched::Failed(why) => {
                    work.report(format!("object '{}' not in this snapshot: {why}", obj.key));
                    return Ok(None);
                }
                Fetched::Gone => {
                    work.report(format!(
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
                        work.report(format!(
                            "object '{}' was deleted while it was read: not in this snapshot",
                            obj.key
                        ));
                        return Ok(None);
                    }
                },
            }
        }
        work.report(format!(
            "object '{}' kept changing while it was read: not in this snapshot",
            obj.key
        ));
        Ok(None)
    }

    async fn fetch_once(
        &self,
        obj: &Listed,
        size: u64,
        etag: Option<&str>,
        work: &Work,
    ) -> Result<Fetched> {
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
            let saver = work.saver.clone();
            let progress = work.progress.clone();
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
        node.s3 = Some(Box::new(self.metadata(obj, &head).await?));
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
}

/// Whether the object listed now (`now`, from the listing alone) is the one the parent snapshot
/// read (`then`), of the same size. Metadata changes only by rewriting the object (a copy onto
/// itself), which moves Last-Modified even when the ETag stays: Last-Modified must always match.
/// Where the listing carries an ETag it must match too (the parent's is its GET's, which is the
/// listing's where both are given). Where it carries none (some servers list no ETags), the
/// parent's ETag, from its GET, has no like to be compared with: key, size and Last-Modified
/// decide, as size and mtime do for files, and without a Last-Modified the object is read.
fn same_object(now: &S3Meta, then: &S3Meta) -> bool {
    let same_version = match &now.etag {
        Some(_) => then.etag == now.etag,
        None => then.last_modified.is_some(),
    };
    now.key == then.key && then.last_modified == now.last_modified && same_version
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

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(key: &str) -> Listed {
        Listed {
            key: key.to_string(),
            size: 1,
            etag: Some("\"e\"".into()),
            last_modified: None,
            storage_class: None,
        }
    }

    #[test]
    fn fetches_hold_their_size_of_the_budget_and_a_huge_object_the_whole_of_it() {
        let all = (FETCH_BUDGET / BUDGET_UNIT) as u32;
        assert_eq!(fetch_units(0), 1);
        assert_eq!(fetch_units(1), 1);
        assert_eq!(fetch_units(BUDGET_UNIT + 1), 2);
        assert_eq!(fetch_units(PART), (PART / BUDGET_UNIT) as u32);
        assert_eq!(fetch_units(100 * PART), all / 2);
        assert!(fetch_units(u64::MAX) <= all);
    }

    /// Every key below `dir`, rebuilt level by level as the archiver would, from a "server"
    /// that answers delimiter listings out of `all`.
    fn keys_below(all: &[&str], dir: &str, out: &mut Vec<String>) {
        let mut objects = Vec::new();
        let mut folders = Vec::new();
        for k in all
            .iter()
            .filter_map(|k| k.strip_prefix(dir).map(|r| (k, r)))
        {
            match k.1.split_once('/') {
                Some((f, _)) => folders.push(format!("{dir}{f}/")),
                None => objects.push(listed(k.0)),
            }
        }
        folders.dedup();
        let none = crate::filter::Patterns::default();
        for e in level_entries(dir, objects, folders, &none).unwrap() {
            match e.handle {
                Handle::Object(o) => out.push(o.key),
                Handle::Dir(sub) => keys_below(all, &sub, out),
            }
        }
    }

    #[test]
    fn awkward_keys_map_to_folders_and_back_exactly() {
        let all = [
            "a",
            "a/b",
            "dir/",
            "a//b",
            "/x",
            "x",
            "./y",
            "../z",
            "p/q/r/s",
            "sp ace/é",
        ];
        let none = crate::filter::Patterns::default();
        let folders = ["/", "./", "../", "a/", "dir/", "p/", "sp ace/"].map(String::from);
        let root =
            level_entries("", vec![listed("a"), listed("x")], folders.to_vec(), &none).unwrap();
        let names: Vec<(&str, NodeKind)> = root
            .iter()
            .map(|e| (e.node.name.as_str(), e.node.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("", NodeKind::Dir),
                (".", NodeKind::Dir),
                ("..", NodeKind::Dir),
                ("a", NodeKind::File),
                ("a", NodeKind::Dir),
                ("dir", NodeKind::Dir),
                ("p", NodeKind::Dir),
                ("sp ace", NodeKind::Dir),
                ("x", NodeKind::File),
            ]
        );
        let mut rebuilt = Vec::new();
        keys_below(&all, "", &mut rebuilt);
        rebuilt.sort();
        let mut want: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(rebuilt, want);
    }

    #[test]
    fn a_server_that_ignores_the_delimiter_still_gives_each_object_once() {
        let none = crate::filter::Patterns::default();
        let flat = vec![listed("a/b/c"), listed("a/d"), listed("e")];
        let root = level_entries("", flat, Vec::new(), &none).unwrap();
        let names: Vec<&str> = root.iter().map(|e| e.node.name.as_str()).collect();
        assert_eq!(names, ["a", "e"]);
        let wrong = level_entries("a/", Vec::new(), vec!["b/".into()], &none);
        assert!(wrong.is_err());
    }

    fn meta(key: &str, etag: Option<&str>, last_modified: Option<&str>) -> S3Meta {
        S3Meta {
            key: key.into(),
            etag: etag.map(String::from),
            last_modified: last_modified.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn an_object_is_unchanged_by_etag_and_last_modified_or_without_listed_etags_by_last_modified() {
        let t1 = Some("2024-01-01T00:00:00.000Z");
        let t2 = Some("2024-01-01T00:00:01.000Z");
        let (e1, e2) = (Some("\"e1\""), Some("\"e2\""));
        // Listings with ETags: both must match.
        assert!(same_object(&meta("k", e1, t1), &meta("k", e1, t1)));
        assert!(!same_object(&meta("k", e2, t1), &meta("k", e1, t1)));
        assert!(!same_object(&meta("k", e1, t2), &meta("k", e1, t1)));
        assert!(!same_object(&meta("k", e1, t1), &meta("k", None, t1)));
        // No ETag in the listing: the parent's ETag (from its GET) is not compared.
        assert!(same_object(&meta("k", None, t1), &meta("k", e1, t1)));
        assert!(same_object(&meta("k", None, t1), &meta("k", None, t1)));
        assert!(!same_object(&meta("k", None, t2), &meta("k", e1, t1)));
        // Nothing to go by, or another key: read again.
        assert!(!same_object(&meta("k", None, None), &meta("k", None, None)));
        assert!(!same_object(&meta("k", None, None), &meta("k", e1, None)));
        assert!(same_object(&meta("k", e1, None), &meta("k", e1, None)));
        assert!(!same_object(&meta("j", e1, t1), &meta("k", e1, t1)));
    }

    #[test]
    fn a_listed_object_is_a_file_named_by_its_last_segment() {
        let node = listed_node(&listed("2024/01/photo.jpg"));
        assert_eq!(node.name, "photo.jpg");
        assert_eq!(node.s3.unwrap().key, "2024/01/photo.jpg");
        assert_eq!(listed_node(&listed("dir/")).name, "");
    }
}
