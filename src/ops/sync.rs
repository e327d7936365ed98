//! `sync to|from`: copies snapshots between two stores, each opened with its own passphrase,
//! moving only the blobs the receiving store lacks. Stores that share blob ids (one made with
//! `create --like` the other) take blobs as they are: a blob already there is not even read.
//! Otherwise each file's content is read and chunked again with the receiving store's chunker.
//!
//! Commit order is a backup's: packs, index files, then the snapshots, each marked with the
//! id it had where it was taken (`original`), so a snapshot is never copied twice and a
//! killed sync, run again, reuses every pack it had uploaded.

use std::collections::{HashMap, HashSet};
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
use crate::repo::id::Id;
use crate::repo::index::BlobKind;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::{NodeKind, Tree};
use crate::repo::Repo;

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
}

pub async fn sync(
    from: Arc<Repo>,
    to: Arc<Repo>,
    snapshots: Vec<(Id, Snapshot)>,
    opts: SyncOptions,
) -> Result<SyncOutcome> {
    opts.cancel.stop_gracefully();
    let there: HashSet<Id> = to
        .snapshots()
        .await?
        .into_iter()
        .map(|(id, s)| s.original.unwrap_or(id))
        .collect();
    let mut outcome = SyncOutcome {
        same_ids: from.shares_ids_with(&to),
        ..Default::default()
    };
    let mut wanted = Vec::new();
    for (id, snap) in snapshots {
        match there.contains(&snap.original.unwrap_or(id)) {
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
    let mut trees = Vec::new();
    let mut failed = None;
    for (i, (_, snap)) in wanted.iter().enumerate() {
        copier
            .progress
            .set_message(format!("snapshot {} of {}", i + 1, wanted.len()));
        match copier.clone().copy_tree(snap.tree).await {
            Ok(t) => trees.push(t),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let flushed = match failed {
        None => {
            let saver = saver.clone();
            tokio::task::spawn_blocking(move || saver.flush()).await?
        }
        Some(e) => Err(e),
    };
    saver.finish_training().await;
    saver.close();
    let upload = uploader.await?;
    copier.progress.finish();
    upload?;
    flushed?;
    to.verify_packs_present(&saver.reused_packs()).await?;
    crate::kill_point::here("sync:uploaded");
    for ((id, snap), tree) in wanted.into_iter().zip(trees) {
        let copy = Snapshot {
            tree,
            // The parent names a snapshot of the other store.
            parent: None,
            original: Some(snap.original.unwrap_or(id)),
            ..snap
        };
        let new = to.save_snapshot(&copy).await?;
        crate::kill_point::here("sync:one-snapshot");
        outcome.copied.push(Copied { from: id, to: new });
    }
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    outcome.new_blobs = load(&saver.stats.new_blobs);
    outcome.new_bytes = load(&saver.stats.new_bytes);
    outcome.stored_bytes = load(&saver.stats.stored_bytes);
    outcome.read_bytes = load(&copier.read_bytes);
    Ok(outcome)
}

struct Copier {
    from: Arc<Repo>,
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
                                node.content = this.copy_content(node.content).await?
                            }
                            _ => {}
                        }
                        Ok::<_, anyhow::Error>(node)
                    }
                })
                .buffered(ENTRIES_AT_ONCE)
                .try_collect()
                .await?;
            let new = self.saver.save_tree_async(&Tree { nodes }).await?;
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
