//! The UI's data, as JSON, and file and directory downloads. Every answer comes from one
//! `View` (the snapshots and the index that covers them); entries come from the same walk
//! `ls` and `dump` use, content from the one reader.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Shared;
use crate::error::KlosetError;
use crate::ops::browse::Found;
use crate::ops::{diff, dump, find};
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::{Node, NodeKind};
use crate::restore::Reader;
use crate::view::contents::Layout;
use crate::view::listing::{self, DirList};
use crate::view::live::View;
use crate::view::xattrs;

/// At most this many hits of a search, or changes of a diff, are sent; the count says how
/// many there were.
const MAX_LISTED: usize = 5000;

type Shared_ = State<Arc<Shared>>;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/snapshots", get(snapshots))
        .route("/api/tree", get(tree))
        .route("/api/node", get(node))
        .route("/api/file", get(file))
        .route("/api/zip", get(zip))
        .route("/api/find", get(search))
        .route("/api/diff", get(changes))
        .route("/api/state", get(state))
}

/// At most this many entries of one directory are listed; the count says how many there are.
const MAX_ENTRIES: usize = 20_000;

/// An error as the page shows it: one line, and a status that says whose fault it was.
struct Failure(StatusCode, String);

impl Failure {
    /// A request that asks for what cannot be: a directory's content, a file's listing.
    fn asked_wrongly(what: String) -> Failure {
        Failure(StatusCode::BAD_REQUEST, what)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        let status = match e.downcast_ref::<KlosetError>() {
            Some(KlosetError::Usage(_)) | Some(KlosetError::UnknownSnapshot(_)) => {
                StatusCode::NOT_FOUND
            }
            Some(KlosetError::AmbiguousSnapshot(..)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, format!("{e:#}"))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        json_response(self.0, &json!({ "error": self.1 }))
    }
}

type Answer = Result<Response, Failure>;

fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

fn ok(value: &impl Serialize) -> Answer {
    Ok(json_response(StatusCode::OK, value))
}

async fn snapshots(State(shared): Shared_) -> Answer {
    let view = shared.live.view().await;
    let list: Vec<Value> = view
        .snapshots
        .iter()
        .map(|(id, s)| crate::repo::snapshot::flat_json(id, s))
        .collect();
    ok(&json!({ "snapshots": list }))
}

/// An entry: a snapshot by id (or `latest`), and a path of shown names (see `listing`).
#[derive(Deserialize)]
struct At {
    snapshot: String,
    #[serde(default)]
    path: String,
}

fn snapshot_of<'a>(view: &'a View, prefix: &str) -> Result<&'a (Id, Snapshot), Failure> {
    view.find(prefix).ok_or_else(|| {
        Failure(
            StatusCode::NOT_FOUND,
            format!("no snapshot '{prefix}' (or more than one): reload the snapshot list"),
        )
    })
}

async fn found(view: &View, at: &At) -> Result<(Id, Snapshot, Found), Failure> {
    let (id, snap) = snapshot_of(view, &at.snapshot)?.clone();
    let found = listing::walk(&view.repo, snap.tree, &at.path).await?;
    Ok((id, snap, found))
}

/// What a listing says of an entry, by the name it is shown as (`part`: that name as a path
/// part); the whole node is for `/api/node`.
fn entry(shown: &[u8], node: &Node) -> Value {
    json!({
        "name": String::from_utf8_lossy(shown),
        "part": listing::part(shown),
        "kind": node.kind,
        "size": node.size,
        "mode": node.mode,
        "uid": node.uid,
        "gid": node.gid,
        "mtime": time_of(node.mtime),
        "target": node.target,
        "links": node.links,
        "s3": node.s3.is_some(),
    })
}

fn time_of(ns: i64) -> String {
    chrono::DateTime::from_timestamp(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    .unwrap_or_default()
}

async fn tree(State(shared): Shared_, Query(at): Query<At>) -> Answer {
    let view = shared.live.view().await;
    let (id, _, found) = found(&view, &at).await?;
    let Found::Dir(tree_id, _) = found else {
        return Err(Failure::asked_wrongly(format!(
            "'{}' is not a directory",
            at.path
        )));
    };
    let list = DirList::new(view.repo.load_tree(&tree_id).await?.nodes);
    let entries: Vec<Value> = list
        .entries()
        .iter()
        .take(MAX_ENTRIES)
        .map(|(name, node)| entry(name, node))
        .collect();
    ok(&json!({ "snapshot": id.to_string(), "path": at.path,
                "count": list.entries().len(), "entries": entries }))
}

async fn node(State(shared): Shared_, Query(at): Query<At>) -> Answer {
    let view = shared.live.view().await;
    let (_, _, found) = found(&view, &at).await?;
    let node = match found {
        Found::File(n) | Found::Dir(_, Some(n)) => n,
        Found::Dir(_, None) => return ok(&json!({ "entry": null })),
    };
    let shown = listing::name_of(at.path.rsplit('/').next().unwrap_or_default());
    let attrs: Vec<Value> = xattrs::of(&node)
        .into_iter()
        .map(|(name, value)| {
            json!({ "name": name, "value": String::from_utf8_lossy(&value), "hex": hex::encode(&value) })
        })
        .collect();
    ok(&json!({ "entry": entry(&shown, &node), "s3": node.s3, "xattrs": attrs }))
}

#[derive(Deserialize)]
struct FileAsked {
    snapshot: String,
    path: String,
    /// Shown in the page rather than saved: only as plain text or a raster image.
    #[serde(default)]
    inline: bool,
    /// At most this many bytes (a preview).
    limit: Option<u64>,
}

/// What a preview may be served as: a raster image, else plain text. Never HTML or SVG,
/// whatever the name or the stored content type says: a stored file must not run script
/// in the UI's origin.
fn preview_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "text/plain; charset=utf-8",
    }
}

/// `attachment` with the name both as ASCII (older clients) and as UTF-8 (RFC 6266).
fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn file(State(shared): Shared_, Query(asked): Query<FileAsked>) -> Answer {
    let view = shared.live.view().await;
    let at = At {
        snapshot: asked.snapshot.clone(),
        path: asked.path.clone(),
    };
    let (_, _, found) = found(&view, &at).await?;
    let Found::File(node) = found else {
        return Err(Failure::asked_wrongly(format!(
            "'{}' is a directory: download it as a zip",
            asked.path
        )));
    };
    if node.kind != NodeKind::File {
        return Err(Failure::asked_wrongly(format!(
            "'{}' is not a regular file",
            asked.path
        )));
    }
    // A size its blobs do not add up to is refused before a byte is sent, not cut short.
    Layout::of(&view.repo, &node)?;
    let limit = asked.limit.unwrap_or(u64::MAX).min(node.size);
    let body = content_stream(
        view.repo.clone(),
        node.content.clone(),
        limit,
        shared.concurrency,
    );
    let (kind, shown) = match asked.inline {
        true => (preview_type(&node.name), "inline"),
        false => ("application/octet-stream", "attachment"),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(limit));
    // A preview runs nothing, even when opened on its own in a tab.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; img-src 'self'"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition(shown, &node.name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The first `limit` bytes of a file's content, in order, through the one reader. A read
/// that fails ends the body early; the client sees a download shorter than announced.
fn content_stream(
    repo: Arc<crate::repo::IndexedRepo>,
    blobs: Vec<Id>,
    limit: u64,
    concurrency: usize,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut contents = Reader::new(repo, concurrency).in_order(vec![blobs]);
        let mut left = limit;
        while left > 0 {
            let Some(blob) = contents.next_of(0).await else {
                break;
            };
            let piece = match blob {
                Ok(b) => b.slice(..(left.min(b.len() as u64) as usize)),
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            left -= piece.len() as u64;
            if tx.send(Ok(piece)).await.is_err() {
                return; // the client went away
            }
        }
    });
    Body::from_stream(receiver_stream(rx))
}

fn receiver_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) })
}

/// `Write` into the body of a response, from the blocking thread the archive writer runs on.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn zip(State(shared): Shared_, Query(at): Query<At>) -> Answer {
    let view = shared.live.view().await;
    let (id, _, found) = found(&view, &at).await?;
    let Found::Dir(tree_id, dir) = found else {
        return Err(Failure::asked_wrongly(format!(
            "'{}' is a file: download it as it is",
            at.path
        )));
    };
    // The archive's top folder: the directory's name when it is fit to be one (`..` is not).
    let base = dir
        .map(|n| n.name)
        .filter(|name| crate::restore::names::unfit(name.as_bytes()).is_none())
        .unwrap_or_else(|| format!("snapshot-{}", id.short()));
    let (entries, _left_out) = dump::entries(&view.repo, tree_id, &base).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let repo = view.repo.clone();
    let concurrency = shared.concurrency;
    tokio::task::spawn_blocking(move || {
        let failed = tx.clone();
        let written = dump::write(
            repo,
            entries,
            dump::Format::Zip,
            concurrency,
            std::io::BufWriter::with_capacity(256 << 10, ChannelWriter(tx)),
            &|_| {},
        );
        if let Err(e) = written {
            // An archive cut short must not look whole: the body ends with an error.
            let _ = failed.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let mut response = Response::new(Body::from_stream(receiver_stream(rx)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition("attachment", &format!("{base}.zip"))) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct Searched {
    pattern: String,
    #[serde(default)]
    ignore_case: bool,
}

async fn search(State(shared): Shared_, Query(q): Query<Searched>) -> Answer {
    let view = shared.live.view().await;
    let hits = find::find(&view.repo, &view.snapshots, &q.pattern, q.ignore_case)
        .await
        .map_err(|e| Failure(StatusCode::BAD_REQUEST, format!("{e:#}")))?;
    let count = hits.len();
    let shown: Vec<Value> = hits
        .iter()
        .take(MAX_LISTED)
        .map(|h| {
            json!({ "snapshot": h.snapshot.to_string(), "short_id": h.snapshot.short(),
                    "time": h.time, "path": h.path, "at": as_parts(&h.path),
                    "kind": h.kind, "size": h.size })
        })
        .collect();
    ok(&json!({ "count": count, "hits": shown }))
}

/// A path of raw names as a path of parts (`listing::part`), to link to.
fn as_parts(path: &str) -> String {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| listing::part(p.as_bytes()))
        .collect();
    format!("/{}", parts.join("/"))
}

#[derive(Deserialize)]
struct Compared {
    a: String,
    b: String,
}

async fn changes(State(shared): Shared_, Query(q): Query<Compared>) -> Answer {
    let view = shared.live.view().await;
    let (a, sa) = snapshot_of(&view, &q.a)?.clone();
    let (b, sb) = snapshot_of(&view, &q.b)?.clone();
    let changed = diff::diff(&view.repo, sa.tree, sb.tree).await?;
    let count = changed.len();
    let shown: Vec<&diff::Changed> = changed.iter().take(MAX_LISTED).collect();
    ok(&json!({ "a": a.to_string(), "b": b.to_string(), "count": count, "changes": shown }))
}

/// Size and health as the loaded index sees them. kloset keeps no record of when `check`
/// or `prune` last ran; damage that `check` found and recorded is shown.
async fn state(State(shared): Shared_) -> Answer {
    let view = shared.live.view().await;
    let repo = &view.repo;
    let mut packs = std::collections::HashSet::new();
    let mut bytes = 0u64;
    for (_, at) in repo.blobs() {
        packs.insert(at.pack);
        bytes += u64::from(at.length);
    }
    let packs = packs.len();
    let health = repo.health();
    let hosts: std::collections::BTreeSet<&str> = view
        .snapshots
        .iter()
        .map(|(_, s)| s.host.as_str())
        .collect();
    let problems = health.damaged_index.len()
        + health.missing_packs.len()
        + health.damaged_packs.len()
        + health.damaged_dictionaries.len();
    ok(&json!({
        "store": repo.display(),
        "snapshots": view.snapshots.len(),
        "hosts": hosts.len(),
        "packs": packs,
        "blob_bytes": bytes,
        "blobs": repo.blob_count(),
        "damaged_index_files": health.damaged_index.len(),
        "missing_packs": health.missing_packs.len(),
        "damaged_packs": health.damaged_packs.len(),
        "recovered_packs": health.recovered_packs.len(),
        "damaged_dictionaries": health.damaged_dictionaries.len(),
        "health": if problems == 0 { "no damage known: 'kloset check --read-data' verifies every pack" } else { "damaged: run 'kloset check' and 'kloset repair'" },
        "last_prune": "not recorded: kloset keeps no history of prunes",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_path_links_by_parts() {
        assert_eq!(as_parts("/docs/~x41"), "/docs/~x7e783431");
        assert_eq!(as_parts("/a/b.txt"), "/a/b.txt");
    }

    #[test]
    fn a_preview_is_never_markup() {
        assert_eq!(preview_type("a.PNG"), "image/png");
        assert_eq!(preview_type("page.html"), "text/plain; charset=utf-8");
        assert_eq!(preview_type("logo.svg"), "text/plain; charset=utf-8");
        assert_eq!(preview_type("noext"), "text/plain; charset=utf-8");
    }

    #[test]
    fn a_download_name_cannot_break_the_header() {
        assert_eq!(
            disposition("attachment", "a b\"é.txt"),
            "attachment; filename=\"a_b__.txt\"; filename*=UTF-8''a%20b%22%C3%A9.txt"
        );
        assert!(HeaderValue::from_str(&disposition("inline", "x\r\ny")).is_ok());
    }
}
