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

use super::client::{Listed, Response, S3Api, TagRead};
use super::history::{self, ListedVersion};
use crate::archive::{Entry, Source, Work};
use crate::repo::id::Id;
use crate::repo::tree::{mtime_of, Node, NodeKind, S3Meta, S3Version};

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
    root_level: std::sync::Mutex<Option<Level>>,
    /// `versions=all`: every version and delete marker of each key.
    versions: bool,
    /// `acls=true`: each object's ACL (one request more per object).
    acls: bool,
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
    /// A key's versions and delete markers, oldest first.
    Versions(Vec<ListedVersion>),
}

impl Handle {
    fn key(&self) -> &str {
        match self {
            Handle::Dir(d) => d,
            Handle::Object(o) => &o.key,
            Handle::Versions(v) => &v[0].listed.key,
        }
    }
}

/// One folder's objects (or keys with their versions) and its subfolders.
type Level = (Vec<Handle>, Vec<String>);

/// Which parts of a bucket a backup reads, from the source's options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope {
    pub versions: bool,
    pub acls: bool,
}

impl Scope {
    pub fn from_options(versions: Option<&str>, acls: Option<&str>) -> Result<Scope> {
        let versions = match versions.unwrap_or("current") {
            "current" => false,
            "all" => true,
            other => {
                return Err(crate::error::config(format!(
                    "option versions must be current or all, not '{other}'"
                )))
            }
        };
        let acls = acls
            .map(|a| crate::connectors::options::parse_bool(a).unwrap_or(false))
            .unwrap_or(false);
        Ok(Scope { versions, acls })
    }
}

impl S3Source {
    /// Lists the root level: a bucket that cannot be listed fails here.
    pub async fn open(
        api: Arc<S3Api>,
        concurrency: usize,
        excludes: &crate::filter::Patterns,
        scope: Scope,
    ) -> Result<S3Source> {
        let root_level = list(&api, scope.versions, "").await?;
        Ok(S3Source {
            api,
            root_level: std::sync::Mutex::new(Some(root_level)),
            versions: scope.versions,
            acls: scope.acls,
            excludes: excludes.clone(),
            concurrency,
            fetches: tokio::sync::Semaphore::new(concurrency.max(1) * 2),
            fetch_bytes: tokio::sync::Semaphore::new((FETCH_BUDGET / BUDGET_UNIT) as usize),
            tags: AtomicU8::new(TAGS_UNKNOWN),
        })
    }

    async fn level(&self, dir: &str) -> Result<Level> {
        if dir.is_empty() {
            if let Some(root) = self.root_level.lock().expect("root level").take() {
                return Ok(root);
            }
        }
        let level = list(&self.api, self.versions, dir).await?;
        pause_for_tests(dir).await;
        Ok(level)
    }
}

/// One level: current objects, or each key with its versions.
async fn list(api: &S3Api, versions: bool, dir: &str) -> Result<Level> {
    if !versions {
        let (objects, folders) = api.list_level(dir).await?;
        return Ok((objects.into_iter().map(Handle::Object).collect(), folders));
    }
    let (entries, folders) = api.list_versions_level(dir).await?;
    Ok((group_versions(entries), folders))
}

/// A version listing's entries grouped by key, each key's oldest first. S3 lists a key's
/// entries newest first, by when each was completed; moto lists every version of a page before
/// every delete marker. So versions keep the listing's order among themselves, and so do
/// delete markers; the two are merged by Last-Modified (ties: as listed); the entry the server
/// calls latest goes last. Last-Modified alone would misorder versions: a multipart upload's is
/// when it started.
fn group_versions(entries: Vec<ListedVersion>) -> Vec<Handle> {
    let mut by_key: BTreeMap<String, Vec<(usize, ListedVersion)>> = BTreeMap::new();
    for (i, e) in entries.into_iter().enumerate() {
        by_key.entry(e.listed.key.clone()).or_default().push((i, e));
    }
    by_key
        .into_values()
        .map(|g| Handle::Versions(oldest_first(g)))
        .collect()
}

/// One key's entries (with their listing positions) oldest first: see `group_versions`.
fn oldest_first(mut entries: Vec<(usize, ListedVersion)>) -> Vec<ListedVersion> {
    entries.reverse();
    let (mut markers, mut versions): (Vec<_>, Vec<_>) =
        entries.into_iter().partition(|(_, e)| e.delete_marker);
    let at = |(i, e): &(usize, ListedVersion)| {
        let t = e.listed.last_modified.as_deref().map(|t| mtime_of(Some(t)));
        (t, std::cmp::Reverse(*i))
    };
    let mut out = Vec::with_capacity(markers.len() + versions.len());
    let (mut m, mut v) = (markers.drain(..).peekable(), versions.drain(..).peekable());
    loop {
        let take_marker = match (m.peek(), v.peek()) {
            (Some(a), Some(b)) => at(a) < at(b),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_marker { m.next() } else { v.next() };
        out.extend(next.map(|(_, e)| e));
    }
    if let Some(latest) = out.iter().position(|e| e.latest) {
        let e = out.remove(latest);
        out.push(e);
    }
    out
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
    objects: Vec<Handle>,
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
        let Some(rest) = obj.key().strip_prefix(dir) else {
            return Err(anyhow!(
                "unreadable listing: object '{}' is not inside '{dir}'",
                obj.key()
            ));
        };
        if let Some((folder, _)) = rest.split_once('/') {
            subs.insert(folder.to_string());
            continue;
        }
        if excludes.matches_key(obj.key()) {
            continue;
        }
        let node = match &obj {
            Handle::Versions(v) => history_node(v),
            Handle::Object(o) => listed_node(o),
            Handle::Dir(_) => continue,
        };
        out.push(Entry { node, handle: obj });
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
        if node.has_history() || prev.has_history() {
            return same_history(&now.versions, &then.versions);
        }
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
        self.read_after(entry, None, work).await
    }

    async fn read_after(
        &self,
        entry: Entry<Handle>,
        prev: Option<&Node>,
        work: &Work,
    ) -> Result<Option<Node>> {
        let node = match &entry.handle {
            Handle::Object(obj) => self.fetch(obj, None, work).await?,
            Handle::Versions(list) => self.fetch_history(list, prev, work).await?,
            Handle::Dir(_) => return Ok(None),
        };
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

/// A key's history is unchanged when it lists the same versions and markers: a version's
/// content and metadata never change (a metadata change is a new version).
/// Where a bucket does not keep versions, every entry is version `null` and is rewritten in
/// place: an entry is the same only with the same id, kind, size and Last-Modified.
fn same_history(now: &[S3Version], then: &[S3Version]) -> bool {
    now.len() == then.len() && now.iter().zip(then).all(|(a, b)| same_entry(a, b))
}

fn same_entry(a: &S3Version, b: &S3Version) -> bool {
    a.version_id == b.version_id
        && a.delete_marker == b.delete_marker
        && a.size == b.size
        && a.last_modified == b.last_modified
}

/// A listed entry as a history records it, before its content is read.
fn v_listed(v: &ListedVersion) -> S3Version {
    S3Version {
        version_id: v.version_id.clone(),
        last_modified: v.listed.last_modified.clone(),
        delete_marker: v.delete_marker,
        size: v.listed.size,
        content: Vec::new(),
        meta: None,
    }
}

/// What a version listing says about a key: the node of its newest entry, with each entry
/// (content not read yet) in `versions`.
fn history_node(list: &[ListedVersion]) -> Node {
    let newest = list.last().expect("a key has an entry");
    let mut node = listed_node(&newest.listed);
    let versions: Vec<S3Version> = list.iter().map(v_listed).collect();
    if let Some(m) = node.s3.as_mut() {
        m.version_id = Some(newest.version_id.clone());
        m.delete_marker = newest.delete_marker;
        m.versions = versions;
    }
    node
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
    /// Every version of a key, reusing those the parent snapshot holds (by version id); a
    /// version that cannot be read is reported and left out of the history.
    async fn fetch_history(
        &self,
        list: &[ListedVersion],
        prev: Option<&Node>,
        work: &Work,
    ) -> Result<Option<Node>> {
        let held: Vec<&S3Version> = prev
            .and_then(|p| p.s3.as_ref())
            .map(|m| m.versions.iter().filter(|v| !v.delete_marker).collect())
            .unwrap_or_default();
        let mut versions = Vec::with_capacity(list.len());
        for lv in list {
            let mut v = S3Version {
                version_id: lv.version_id.clone(),
                last_modified: lv.listed.last_modified.clone(),
                delete_marker: lv.delete_marker,
                ..S3Version::default()
            };
            if lv.delete_marker {
                versions.push(v);
                continue;
            }
            let reusable = held.iter().find(|h| {
                same_entry(h, &v_listed(lv))
                    && h.meta.is_some()
                    && h.content.iter().all(|id| work.saver.is_known(id))
            });
            if let Some(h) = reusable {
                work.progress.add_bytes(h.size);
                versions.push((*h).clone());
                continue;
            }
            let Some(node) = self.fetch(&lv.listed, Some(&lv.version_id), work).await? else {
                // Without its newest version a key's history would name an older one current.
                if lv.latest || std::ptr::eq(lv, list.last().expect("an entry")) {
                    return Ok(None);
                }
                continue;
            };
            v.size = node.size;
            v.content = node.content;
            v.meta = node.s3;
            versions.push(v);
        }
        let Some(newest) = versions.last() else {
            return Ok(None);
        };
        let mut node = Node::new(String::new(), NodeKind::File);
        node.mode = 0o644;
        node.s3 = Some(Box::new(S3Meta {
            key: list[0].listed.key.clone(),
            ..S3Meta::default()
        }));
        let mut node = node.version_node(newest);
        if let Some(m) = node.s3.as_mut() {
            m.versions = versions;
        }
        Ok(Some(node))
    }

    /// Ok(None): the object could not be read; reported and counted, the backup goes on.
    /// `version`: one version of it rather than the current one.
    async fn fetch(
        &self,
        obj: &Listed,
        version: Option<&str>,
        work: &Work,
    ) -> Result<Option<Node>> {
        let _permit = self.fetches.acquire().await?;
        let _bytes = self.fetch_bytes.acquire_many(fetch_units(obj.size)).await?;
        let mut etag = obj.etag.clone();
        let mut size = obj.size;
        // An object rewritten while we read it is read again, whole, under its new ETag.
        for _attempt in 0..3 {
            match self
                .fetch_once(obj, version, size, etag.as_deref(), work)
                .await?
            {
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
                // A version cannot change: a server whose ETags say otherwise is asked by
                // version id alone.
                Fetched::Changed if version.is_some() => etag = None,
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
        version: Option<&str>,
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
        // Without an ETag to pin the parts to, the listed time does (and each part's
        // Content-Range names the size it was cut from).
        let unmodified = match etag {
            None => obj.last_modified.as_deref().and_then(http_date),
            Some(_) => None,
        };
        let get = |range: Option<std::ops::Range<u64>>| {
            let unmodified = unmodified.as_deref();
            async move {
                let r = self
                    .api
                    .get_version(&obj.key, version, range.clone(), etag, unmodified)
                    .await;
                (range, r)
            }
        };
        // The first part alone: a server that ignores Range answers it with the whole object,
        // and the other parts are then not asked for.
        let mut rest = ranges;
        let first_range = rest.remove(0);
        let mut parts = stream::once(get(first_range))
            .chain(stream::iter(rest).map(get).buffered(PARTS_IN_FLIGHT))
            .boxed();
        let mut index = 0;
        let mut received = 0u64;
        while let Some((range, resp)) = parts.next().await {
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
            let whole = match (&range, resp.status) {
                (None, _) => false,
                (Some(_), StatusCode::OK) if index == 0 && resp.body.len() as u64 == size => true,
                (Some(r), StatusCode::PARTIAL_CONTENT)
                    if resp.body.len() as u64 == r.end - r.start
                        && resp.header("content-range").as_deref()
                            == Some(format!("bytes {}-{}/{size}", r.start, r.end - 1).as_str()) =>
                {
                    false
                }
                (Some(_), _) => return Ok(Fetched::Changed),
            };
            received += resp.body.len() as u64;
            index += 1;
            let last = index == n || whole;
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
            if whole {
                break;
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
        let whole_object = n == 1 || index == 1;
        node.s3 = Some(Box::new(
            self.metadata(obj, version, &head, whole_object, work)
                .await?,
        ));
        Ok(Fetched::Done(Box::new(node)))
    }

    /// `whole`: `head` answered a GET of the whole object (its checksums are the object's).
    async fn metadata(
        &self,
        obj: &Listed,
        version: Option<&str>,
        head: &Response,
        whole: bool,
        work: &Work,
    ) -> Result<S3Meta> {
        let mut user_metadata = BTreeMap::new();
        for (name, value) in head.headers.iter() {
            if let Some(k) = name.as_str().strip_prefix("x-amz-meta-") {
                user_metadata.insert(
                    k.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                );
            }
        }
        let tags = match self.tags.load(Ordering::Relaxed) {
            TAGS_NO => None,
            state => {
                let read = self.api.read_tags(&obj.key, version).await?;
                match tagging_after(state, &read) {
                    Tagging::Has => self.tags.store(TAGS_YES, Ordering::Relaxed),
                    Tagging::Lacks => self.tags.store(TAGS_NO, Ordering::Relaxed),
                    Tagging::ThisObject => work.report(format!(
                        "tags of object '{}' could not be read ({}); recorded as unavailable",
                        obj.key,
                        match &read {
                            TagRead::Refused(s, code) => format!("the server answered {s} {code}"),
                            TagRead::Tags(_) => String::new(),
                        }
                    )),
                }
                match read {
                    TagRead::Tags(t) => Some(t),
                    TagRead::Refused(..) => None,
                }
            }
        };
        let acl = match self.acls {
            true => self.api.acl(&obj.key, version).await?,
            false => None,
        };
        let (retention, legal_hold) = history::lock_state(head);
        Ok(S3Meta {
            version_id: version.map(str::to_string),
            acl,
            retention,
            legal_hold,
            checksums: match whole {
                true => history::checksums(head),
                false => BTreeMap::new(),
            },
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
            ..S3Meta::default()
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

/// An RFC 3339 time as an HTTP date (`If-Unmodified-Since`).
fn http_date(rfc3339: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        t.with_timezone(&chrono::Utc)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    )
}

/// What one tag answer says of the server's tagging.
#[derive(Debug, PartialEq)]
enum Tagging {
    Has,
    Lacks,
    /// Only this object's tags are unreadable (deleted meanwhile, a refusal on one object):
    /// reported, and the next object is asked again.
    ThisObject,
}

/// A 501 (or NotImplemented) says the server has no tagging; so does a 400 or 405 to the first
/// request, before any object's tags were read (servers without tagging answer so). After
/// that, and for a 403 or 404 at any time, a refusal is this object's.
fn tagging_after(state: u8, read: &TagRead) -> Tagging {
    match read {
        TagRead::Tags(_) => Tagging::Has,
        r if r.unsupported() => Tagging::Lacks,
        TagRead::Refused(400 | 405, _) if state == TAGS_UNKNOWN => Tagging::Lacks,
        TagRead::Refused(..) => Tagging::ThisObject,
    }
}

enum Fetched {
    Done(Box<Node>),
    Gone,
    Changed,
    Failed(String),
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

    fn obj(key: &str) -> Handle {
        Handle::Object(listed(key))
    }

    fn version(key: &str, id: &str, marker: bool) -> ListedVersion {
        ListedVersion {
            listed: listed(key),
            version_id: id.into(),
            delete_marker: marker,
            latest: false,
        }
    }

    #[test]
    fn a_version_listing_becomes_one_node_per_key_with_its_history_oldest_first() {
        // As moto lists them: versions first, then markers, all in the same second.
        let mut latest = version("a", "a3", true);
        latest.latest = true;
        let entries = vec![
            version("a", "a2", false),
            version("a", "a1", false),
            version("b", "b1", false),
            latest,
        ];
        let handles = group_versions(entries);
        assert_eq!(handles.len(), 2);
        let none = crate::filter::Patterns::default();
        let nodes = level_entries("", handles, Vec::new(), &none).unwrap();
        let a = nodes[0].node.s3.as_ref().unwrap();
        let ids: Vec<&str> = a.versions.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2", "a3"]);
        assert!(a.delete_marker && nodes[0].node.is_deleted());
        assert_eq!(a.version_id.as_deref(), Some("a3"));
        let b = &nodes[1].node;
        assert!(!b.is_deleted() && b.has_history());
        // The same versions are unchanged; one more, or a marker in place of one, is not.
        let now = &a.versions;
        assert!(same_history(now, now));
        assert!(!same_history(now, &now[..2]));
        let mut marked = now.clone();
        marked[1].delete_marker = true;
        assert!(!same_history(now, &marked));
    }

    #[test]
    fn a_multipart_version_completed_after_a_delete_stays_newest_as_s3_lists_it() {
        let at = |mut v: ListedVersion, t: &str, latest: bool| {
            v.listed.last_modified = Some(t.into());
            v.latest = latest;
            v
        };
        // S3's order, newest first: B (a multipart upload started before the delete and
        // completed after it), the delete marker, A.
        let listed = vec![
            at(version("k", "B", false), "2026-01-01T00:00:01Z", true),
            at(version("k", "d", true), "2026-01-01T00:00:02Z", false),
            at(version("k", "A", false), "2026-01-01T00:00:00Z", false),
        ];
        let Handle::Versions(ordered) = group_versions(listed).remove(0) else {
            panic!("a key");
        };
        let ids: Vec<&str> = ordered.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!(ids, ["A", "d", "B"]);
    }

    #[test]
    fn only_a_501_or_a_first_refusal_turns_tags_off_for_the_run() {
        let refused = |s: u16, code: &str| TagRead::Refused(s, code.into());
        let tags = TagRead::Tags(BTreeMap::new());
        assert_eq!(tagging_after(TAGS_UNKNOWN, &tags), Tagging::Has);
        assert_eq!(tagging_after(TAGS_YES, &refused(501, "")), Tagging::Lacks);
        assert_eq!(
            tagging_after(TAGS_YES, &refused(400, "NotImplemented")),
            Tagging::Lacks
        );
        assert_eq!(
            tagging_after(TAGS_UNKNOWN, &refused(400, "")),
            Tagging::Lacks
        );
        assert_eq!(
            tagging_after(TAGS_YES, &refused(400, "")),
            Tagging::ThisObject
        );
        assert_eq!(
            tagging_after(TAGS_YES, &refused(404, "NoSuchKey")),
            Tagging::ThisObject
        );
        assert_eq!(
            tagging_after(TAGS_UNKNOWN, &refused(403, "AccessDenied")),
            Tagging::ThisObject
        );
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
                None => objects.push(Handle::Object(listed(k.0))),
            }
        }
        folders.dedup();
        let none = crate::filter::Patterns::default();
        for e in level_entries(dir, objects, folders, &none).unwrap() {
            match e.handle {
                Handle::Object(o) => out.push(o.key),
                Handle::Dir(sub) => keys_below(all, &sub, out),
                Handle::Versions(_) => unreachable!("no versions listed here"),
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
        let root = level_entries("", vec![obj("a"), obj("x")], folders.to_vec(), &none).unwrap();
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
        let flat = vec![obj("a/b/c"), obj("a/d"), obj("e")];
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
