//! Reading objects and their versions: ranged parts pinned to what was listed, metadata, tags,
//! ACLs and lock state, and reuse of the versions a parent snapshot holds.

use super::level::{same_entry, v_listed};
use super::*;

/// The share of `FETCH_BUDGET` one object holds while it is fetched: its size, or the parts of
/// it in flight at once, and never more than the whole budget (a huge object still goes alone).
pub(super) fn fetch_units(size: u64) -> u32 {
    let in_flight = size.min(PART * PARTS_IN_FLIGHT as u64);
    in_flight
        .div_ceil(BUDGET_UNIT)
        .clamp(1, FETCH_BUDGET / BUDGET_UNIT) as u32
}

impl S3Source {
    /// Every version of a key, reusing those the parent snapshot holds (by version id); a
    /// version that cannot be read is reported and left out of the history.
    pub(super) async fn fetch_history(
        &self,
        list: &[ListedVersion],
        prev: Option<&Node>,
        work: &Work,
    ) -> Result<Option<Node>> {
        // By id: a key with many versions is not searched once per version.
        let held: std::collections::HashMap<&str, &S3Version> = prev
            .and_then(|p| p.s3.as_ref())
            .map(|m| {
                m.versions
                    .iter()
                    .filter(|v| !v.delete_marker)
                    .map(|v| (v.version_id.as_str(), v))
                    .collect()
            })
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
            let reusable = held.get(lv.version_id.as_str()).filter(|h| {
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
    pub(super) async fn fetch(
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
                Fetched::Failed(why)
                    if crate::connectors::s3::client::has_dot_segment(&obj.key) =>
                {
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

    pub(super) async fn fetch_once(
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
    pub(super) async fn metadata(
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

/// An RFC 3339 time as an HTTP date (`If-Unmodified-Since`).
pub(super) fn http_date(rfc3339: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        t.with_timezone(&chrono::Utc)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    )
}

/// What one tag answer says of the server's tagging.
#[derive(Debug, PartialEq)]
pub(super) enum Tagging {
    Has,
    Lacks,
    /// Only this object's tags are unreadable (deleted meanwhile, a refusal on one object):
    /// reported, and the next object is asked again.
    ThisObject,
}

/// A 501 (or NotImplemented) says the server has no tagging; so does a 400 or 405 to the first
/// request, before any object's tags were read (servers without tagging answer so). After
/// that, and for a 403 or 404 at any time, a refusal is this object's.
pub(super) fn tagging_after(state: u8, read: &TagRead) -> Tagging {
    match read {
        TagRead::Tags(_) => Tagging::Has,
        r if r.unsupported() => Tagging::Lacks,
        TagRead::Refused(400 | 405, _) if state == TAGS_UNKNOWN => Tagging::Lacks,
        TagRead::Refused(..) => Tagging::ThisObject,
    }
}

pub(super) enum Fetched {
    Done(Box<Node>),
    Gone,
    Changed,
    Failed(String),
}
