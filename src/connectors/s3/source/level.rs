//! What a listing says: a folder's entries, a key's history in order, and whether an entry is
//! the one the parent snapshot read.

use super::*;

/// One level: current objects, or each key with its versions.
pub(super) async fn list(api: &S3Api, versions: bool, dir: &str) -> Result<Level> {
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
pub(super) fn group_versions(entries: Vec<ListedVersion>) -> Vec<Handle> {
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
pub(super) fn oldest_first(mut entries: Vec<(usize, ListedVersion)>) -> Vec<ListedVersion> {
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
pub(super) async fn pause_for_tests(dir: &str) {
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
pub(super) fn level_entries(
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

/// A key's history is unchanged when it lists the same versions and markers: a version's
/// content and metadata never change (a metadata change is a new version).
/// Where a bucket does not keep versions, every entry is version `null` and is rewritten in
/// place: an entry is the same only with the same id, kind, size and Last-Modified.
pub(super) fn same_history(now: &[S3Version], then: &[S3Version]) -> bool {
    now.len() == then.len() && now.iter().zip(then).all(|(a, b)| same_entry(a, b))
}

pub(super) fn same_entry(a: &S3Version, b: &S3Version) -> bool {
    a.version_id == b.version_id
        && a.delete_marker == b.delete_marker
        && a.size == b.size
        && a.last_modified == b.last_modified
}

/// A listed entry as a history records it, before its content is read.
pub(super) fn v_listed(v: &ListedVersion) -> S3Version {
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
pub(super) fn history_node(list: &[ListedVersion]) -> Node {
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
pub(super) fn listed_node(obj: &Listed) -> Node {
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

/// Whether the object listed now (`now`, from the listing alone) is the one the parent snapshot
/// read (`then`), of the same size. Metadata changes only by rewriting the object (a copy onto
/// itself), which moves Last-Modified even when the ETag stays: Last-Modified must always match.
/// Where the listing carries an ETag it must match too (the parent's is its GET's, which is the
/// listing's where both are given). Where it carries none (some servers list no ETags), the
/// parent's ETag, from its GET, has no like to be compared with: key, size and Last-Modified
/// decide, as size and mtime do for files, and without a Last-Modified the object is read.
pub(super) fn same_object(now: &S3Meta, then: &S3Meta) -> bool {
    let same_version = match &now.etag {
        Some(_) => then.etag == now.etag,
        None => then.last_modified.is_some(),
    };
    now.key == then.key && then.last_modified == now.last_modified && same_version
}
