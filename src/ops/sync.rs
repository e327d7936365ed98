//! `sync to|from`: copies snapshots between two stores, each opened with its own passphrase,
//! moving only the blobs the receiving store lacks. Stores that share blob ids (one made with
//! `create --like` the other) take blobs as they are: a blob already there is not even read.
//! Otherwise each file's content is read and chunked again with the receiving store's chunker.
//!
//! Each snapshot is committed through `Repo::commit` as soon as its trees are copied, marked
//! with the id it had where it was taken (`original`): a damaged snapshot costs only itself,
//! and a killed sync, run again, reuses every pack it had uploaded. The receiving store's
//! originals are read again just before each commit, and a copy that lost a race with another
//! sync's copy of the same snapshot is removed again (the older copy by server time stays), so
//! two syncs at once leave one copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use futures::future::BoxFuture;
use futures::{stream, FutureExt, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::archive::saver::BlobSaver;
use crate::cancel::Cancel;
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::commit::CommitRefs;
use crate::repo::id::Id;
use crate::repo::index::BlobKind;
use crate::repo::is_damage;
use crate::repo::snapshot::{lineage, Lineage, Snapshot};
use crate::repo::tree::{NodeKind, Tree};
use crate::repo::IndexedRepo;

/// Entries of one directory copied at once.
const ENTRIES_AT_ONCE: usize = 8;

pub struct SyncOptions {
    /// Requests in flight on either store.
    pub concurrency: usize,
    pub quiet: bool,
    pub cancel: Cancel,
}

#[derive(Debug, Serialize)]
pub struct Copied {
    pub from: Id,
    pub to: Id,
}

#[derive(Debug, Default, Serialize)]
pub struct SyncOutcome {
    pub copied: Vec<Copied>,
    /// Snapshots of the sending store the receiving one already holds.
    pub already_there: Vec<Id>,
    /// True when blobs moved as they were (stores that share blob ids).
    pub same_ids: bool,
    pub new_blobs: u64,
    /// Plaintext bytes of the blobs stored in the receiving store.
    pub new_bytes: u64,
    pub stored_bytes: u64,
    /// Plaintext bytes read from the sending store.
    pub read_bytes: u64,
    /// Snapshots that could not be copied (damaged in the sending store), with why.
    pub failed: Vec<Failed>,
}

#[derive(Debug, Serialize)]
pub struct Failed {
    pub id: Id,
    pub error: String,
}

pub async fn sync(
    from: Arc<IndexedRepo>,
    to: Arc<IndexedRepo>,
    snapshots: Vec<(Id, Snapshot)>,
    opts: SyncOptions,
) -> Result<SyncOutcome> {
    let outcome = run(from, to.clone(), snapshots, opts).await;
    to.release_lease().await;
    outcome
}

/// The receiving store's snapshots by the id they had where they were taken, each snapshot
/// object read once however often the listing is refreshed (a sync of many snapshots lists
/// before every commit).
#[derive(Default)]
struct Receiving {
    /// Snapshot id -> which snapshot and version it is (None: it does not open; it is no
    /// copy of anything).
    known: HashMap<Id, Option<Lineage>>,
    /// The latest listing: snapshot ids with the server's time.
    listed: Vec<(Id, chrono::DateTime<chrono::Utc>)>,
}

impl Receiving {
    async fn refresh(&mut self, to: &IndexedRepo) -> Result<()> {
        self.listed = to.snapshot_ids_with_time().await?;
        for (id, _) in &self.listed {
            if self.known.contains_key(id) {
                continue;
            }
            let original = match to.load_snapshot(id).await {
                Ok(s) => Some(lineage(id, &s)),
                Err(e) if is_damage(&e) || is_gone(&e) => None,
                Err(e) => return Err(e),
            };
            self.known.insert(*id, original);
        }
        Ok(())
    }

    /// A copy of this version of the snapshot, or a newer version of it (a tag or rewrite
    /// made there, or copied there): then this one is not wanted there.
    fn holds(&self, wanted: &Lineage) -> bool {
        self.listed.iter().any(|(id, _)| {
            self.known.get(id).is_some_and(|k| {
                k.is_some_and(|k| k.first == wanted.first && k.version >= wanted.version)
            })
        })
    }

    /// Of the copies of `original` listed, `mine` is the one to keep: the oldest by the
    /// server's time, the smallest id among equals. Two syncs that raced both keep that one.
    fn first_copy(&self, original: &Lineage, mine: &Id) -> bool {
        self.listed
            .iter()
            .filter(|(id, _)| {
                id == mine
                    || self
                        .known
                        .get(id)
                        .is_some_and(|k| k.as_ref() == Some(original))
            })
            .map(|(id, at)| (*at, *id))
            .min()
            .is_none_or(|(_, id)| id == *mine)
    }
}

fn is_gone(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<KlosetError>(),
        Some(KlosetError::UnknownSnapshot(_))
    )
}

async fn run(
    from: Arc<IndexedRepo>,
    to: Arc<IndexedRepo>,
    snapshots: Vec<(Id, Snapshot)>,
    opts: SyncOptions,
) -> Result<SyncOutcome> {
    opts.cancel.stop_gracefully();
    let mut receiving = Receiving::default();
    receiving.refresh(&to).await?;
    let mut outcome = SyncOutcome {
        same_ids: from.shares_ids_with(&to),
        ..Default::default()
    };
    let mut wanted = Vec::new();
    // The newest version of a snapshot first: older ones are then held already, and their
    // trees (with what a rewrite took out) are never copied.
    let mut snapshots = snapshots;
    snapshots.sort_by(|(a, x), (b, y)| {
        (x.time, lineage(a, x).first)
            .cmp(&(y.time, lineage(b, y).first))
            .then(y.version.cmp(&x.version))
            .then(a.cmp(b))
    });
    for (id, snap) in snapshots {
        match receiving.holds(&lineage(&id, &snap)) {
            true => outcome.already_there.push(id),
            false => wanted.push((id, snap)),
        }
    }
    if wanted.is_empty() {
        return Ok(outcome);
    }
    let (saver, uploader) = BlobSaver::start(to.clone(), opts.concurrency, false);
    let copier = Arc::new(Copier {
        from,
        saver: saver.clone(),
        same_ids: outcome.same_ids,
        reads: Semaphore::new(opts.concurrency.max(1)),
        trees: Mutex::new(HashMap::new()),
        contents: Mutex::new(HashMap::new()),
        read_bytes: std::sync::atomic::AtomicU64::new(0),
        progress: Progress::new(opts.quiet, "sync", None),
        cancel: opts.cancel.clone(),
    });
    let total = wanted.len();
    let mut copied = Ok(());
    for (i, (id, snap)) in wanted.into_iter().enumerate() {
        copier
            .progress
            .set_message(format!("snapshot {} of {total}", i + 1));
        match copy_one(&copier, &to, &mut receiving, id, snap).await {
            Ok(Some(c)) => outcome.copied.push(c),
            Ok(None) => outcome.already_there.push(id),
            Err(e) if is_damage(&e) => {
                copier
                    .progress
                    .warn(&format!("error: snapshot {}: {e:#}", id.short()));
                outcome.failed.push(Failed {
                    id,
                    error: format!("{e:#}"),
                });
            }
            Err(e) => {
                copied = Err(e);
                break;
            }
        }
    }
    saver.finish_training().await;
    saver.close();
    let upload = uploader.await?;
    copier.progress.finish();
    copied?;
    upload?;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    outcome.new_blobs = load(&saver.stats.new_blobs);
    outcome.new_bytes = load(&saver.stats.new_bytes);
    outcome.stored_bytes = load(&saver.stats.stored_bytes);
    outcome.read_bytes = load(&copier.read_bytes);
    Ok(outcome)
}

/// Copies one snapshot's trees and commits it. Ok(None): another sync committed a copy of it
/// first.
async fn copy_one(
    copier: &Arc<Copier>,
    to: &IndexedRepo,
    receiving: &mut Receiving,
    id: Id,
    snap: Snapshot,
) -> Result<Option<Copied>> {
    // A newer version copied by this run (or another) since the list was made.
    if receiving.holds(&lineage(&id, &snap)) {
        return Ok(None);
    }
    let tree = copier.clone().copy_tree(snap.tree).await?;
    copier.saver.writer.settle().await?;
    crate::kill_point::here("sync:uploaded");
    let original = snap.original.unwrap_or(id);
    let key = lineage(&id, &snap);
    receiving.refresh(to).await?;
    if receiving.holds(&key) {
        return Ok(None);
    }
    let copy = Snapshot {
        tree,
        // The parent names a snapshot of the other store.
        parent: None,
        original: Some(original),
        ..snap
    };
    let refs = CommitRefs {
        reused: copier.saver.reused_packs(),
        written: copier.saver.writer.written_ids(),
    };
    let new = to.commit(&copy, &refs).await?;
    crate::kill_point::here("sync:one-snapshot");
    receiving.refresh(to).await?;
    if !receiving.first_copy(&key, &new) {
        to.delete_snapshot(&new).await?;
        return Ok(None);
    }
    Ok(Some(Copied { from: id, to: new }))
}

struct Copier {
    from: Arc<IndexedRepo>,
    saver: Arc<BlobSaver>,
    same_ids: bool,
    reads: Semaphore,
    /// Trees already copied in this run: sending store's id -> receiving store's.
    trees: Mutex<HashMap<Id, Id>>,
    /// File contents already chunked again in this run (stores with different ids).
    contents: Mutex<HashMap<Vec<Id>, Vec<Id>>>,
    read_bytes: std::sync::atomic::AtomicU64,
    progress: Progress,
    cancel: Cancel,
}

impl Copier {
    /// Copies a tree and everything below it; returns its id in the receiving store.
    fn copy_tree(self: Arc<Self>, id: Id) -> BoxFuture<'static, Result<Id>> {
        async move {
            if let Some(done) = self.trees.lock().expect("trees").get(&id) {
                return Ok(*done);
            }
            if self.cancel.is_requested() {
                return Err(KlosetError::Interrupted.into());
            }
            let tree = self.from.load_tree(&id).await?;
            let nodes = stream::iter(tree.nodes)
                .map(|mut node| {
                    let this = self.clone();
                    async move {
                        match node.kind {
                            NodeKind::Dir => {
                                if let Some(sub) = node.subtree {
                                    node.subtree = Some(this.copy_tree(sub).await?);
                                }
                            }
                            NodeKind::File => {
                                node.content = this.copy_content(node.content).await?;
                                // A key's history: each version's content too.
                                if let Some(m) = node.s3.as_mut() {
                                    for v in &mut m.versions {
                                        let c = std::mem::take(&mut v.content);
                                        v.content = this.copy_content(c).await?;
                                    }
                                }
                            }
                            _ => {}
                        }
                        Ok::<_, anyhow::Error>(node)
                    }
                })
                .buffered(ENTRIES_AT_ONCE)
                .try_collect()
                .await?;
            let dir = format!("of tree {}", id.short());
            let new = self.saver.save_tree_async(&Tree::new(nodes), &dir).await?;
            self.trees.lock().expect("trees").insert(id, new);
            Ok(new)
        }
        .boxed()
    }

    async fn copy_content(&self, content: Vec<Id>) -> Result<Vec<Id>> {
        if self.same_ids {
            for id in &content {
                if !self.saver.is_known(id) {
                    let data = self.read(id).await?;
                    let saver = self.saver.clone();
                    let saved =
                        tokio::task::spawn_blocking(move || saver.save(BlobKind::Data, &data))
                            .await??;
                    if saved != *id {
                        return Err(KlosetError::Integrity(format!(
                            "blob {} reads back as {}: run 'kloset check --read-data' on the sending store",
                            id.short(),
                            saved.short()
                        ))
                        .into());
                    }
                }
            }
            return Ok(content);
        }
        if let Some(done) = self.contents.lock().expect("contents").get(&content) {
            return Ok(done.clone());
        }
        // The receiving store's chunker over the same bytes, blob by blob as they arrive.
        let (mut carry, mut ids) = (Vec::new(), Vec::new());
        for (i, id) in content.iter().enumerate() {
            let data = self.read(id).await?;
            let last = i + 1 == content.len();
            let saver = self.saver.clone();
            (carry, ids) = tokio::task::spawn_blocking(move || {
                saver
                    .save_piece(&mut carry, &data, last, &mut ids)
                    .map(|_| (carry, ids))
            })
            .await??;
        }
        self.contents
            .lock()
            .expect("contents")
            .insert(content, ids.clone());
        Ok(ids)
    }

    async fn read(&self, id: &Id) -> Result<Vec<u8>> {
        let _permit = self.reads.acquire().await?;
        let data = self.from.read_blob(id).await?;
        self.progress.add_bytes(data.len() as u64);
        self.read_bytes
            .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(n: u8) -> Id {
        Id([n; 32])
    }

    /// What a copy of snapshot `n` is a copy of.
    fn key(n: u8) -> Lineage {
        lineage(&id(n), &crate::repo::snapshot::for_tests(0))
    }

    fn receiving(copies: &[(u8, i64, Option<u8>)]) -> Receiving {
        let mut r = Receiving::default();
        for (snap, secs, original) in copies {
            r.listed
                .push((id(*snap), chrono::Utc.timestamp_opt(*secs, 0).unwrap()));
            r.known.insert(id(*snap), original.map(key));
        }
        r
    }

    #[test]
    fn the_oldest_copy_wins_and_the_smallest_id_breaks_ties() {
        let r = receiving(&[(5, 100, Some(9)), (3, 200, Some(9)), (7, 50, Some(1))]);
        assert!(r.first_copy(&key(9), &id(5)));
        assert!(!r.first_copy(&key(9), &id(3)));
        let tie = receiving(&[(5, 100, Some(9)), (3, 100, Some(9))]);
        assert!(tie.first_copy(&key(9), &id(3)));
        assert!(!tie.first_copy(&key(9), &id(5)));
    }

    #[test]
    fn a_copy_not_yet_listed_is_kept_and_damaged_ones_are_no_copies() {
        let r = receiving(&[(7, 50, None)]);
        assert!(r.first_copy(&key(9), &id(4)));
        assert!(!r.holds(&key(9)));
        let r = receiving(&[(7, 50, Some(9))]);
        assert!(r.holds(&key(9)));
    }

    #[test]
    fn a_newer_version_held_makes_older_ones_unwanted_and_not_newer_ones() {
        let v = |version| Lineage {
            first: id(9),
            version,
        };
        let mut r = Receiving::default();
        r.listed
            .push((id(5), chrono::Utc.timestamp_opt(100, 0).unwrap()));
        r.known.insert(id(5), Some(v(2)));
        assert!(r.holds(&v(0)) && r.holds(&v(1)) && r.holds(&v(2)));
        assert!(!r.holds(&v(3)), "a newer version is copied");
        assert!(!r.holds(&Lineage {
            first: id(8),
            version: 0
        }));
    }
}
