//! The one archiver: walks any `Source` directory by directory, reuses what the parent snapshot
//! says is unchanged, has the rest read through the saver, and writes one tree blob per
//! directory. Entries of a directory are processed concurrently but recorded in the source's
//! order, so the same source always gives the same trees.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Result;
use futures::future::BoxFuture;
use futures::{stream, FutureExt, StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use super::{Entry, Source, WalkStats, Work};
use crate::cancel::Cancel;
use crate::error::KlosetError;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind, Tree};
use crate::repo::IndexedRepo;

/// Files up to this size are read in batches of a directory's files.
const SMALL_FILE: u64 = 256 * 1024;
const BATCH_FILES: usize = 64;
const BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// A step of a directory: one entry, or a batch of small files to read.
enum Unit<H> {
    One(Box<(Entry<H>, Option<Node>)>),
    Batch(Vec<Entry<H>>),
}

/// Entries of the parent snapshot fetched up front, level by level (about 600 bytes each in
/// memory, measured: 60 MB): enough for trees of a hundred thousand files; beyond, parents
/// are read as their directories come (from the local cache of tree packs, on S3 too).
const PREFETCHED_ENTRIES: usize = 100_000;

pub struct Archiver<S: Source> {
    repo: Arc<IndexedRepo>,
    source: Arc<S>,
    work: Arc<Work>,
    /// Source reads and directory listings in flight.
    reads: Semaphore,
    cancel: Cancel,
    /// The parent snapshot's trees, fetched up front in few large reads.
    parents: std::sync::Mutex<HashMap<Id, Tree>>,
    pub stats: WalkStats,
}

impl<S: Source> Archiver<S> {
    pub fn new(repo: Arc<IndexedRepo>, source: Arc<S>, work: Arc<Work>, cancel: Cancel) -> Self {
        let reads = Semaphore::new(source.concurrency().max(1));
        Archiver {
            repo,
            source,
            work,
            reads,
            cancel,
            parents: std::sync::Mutex::new(HashMap::new()),
            stats: WalkStats::default(),
        }
    }

    /// Archives the source and returns the id of the snapshot's root tree.
    pub async fn run(self: &Arc<Self>, parent_root: Option<Id>) -> Result<Id> {
        if let Some(root) = parent_root {
            // Best effort: what is not fetched here is read tree by tree when needed.
            let trees = self
                .repo
                .load_tree_set(root, PREFETCHED_ENTRIES)
                .await
                .unwrap_or_default();
            *self.parents.lock().expect("parents") = trees;
        }
        let parent = self.parent_tree(parent_root).await;
        let root = self.source.root().await?;
        let root_path: Arc<str> = match root.node.name.as_str() {
            "" => "/".into(),
            name => name.into(),
        };
        if root.node.kind == NodeKind::Dir {
            return self.clone().archive_dir(root, parent, root_path).await;
        }
        let prev = parent.and_then(|t| {
            t.nodes
                .into_iter()
                .find(|n| n.name == root.node.name && n.kind == root.node.kind)
        });
        let node = self.clone().archive_entry(root, prev, "".into()).await?;
        self.save_tree(Tree::new(node.into_iter().collect()), &root_path)
            .await
    }

    /// `path`: the directory's path from the source's root, for messages.
    fn archive_dir(
        self: Arc<Self>,
        dir: Entry<S::Handle>,
        parent: Option<Tree>,
        path: Arc<str>,
    ) -> BoxFuture<'static, Result<Id>> {
        async move {
            let children = {
                let _permit = self.reads.acquire().await?;
                self.source.children(&dir, &self.work).await?
            };
            // Keyed by kind too: an S3 prefix can hold a file `a` beside a folder `a/`.
            let mut previous: HashMap<(String, NodeKind), Node> = parent
                .map(|t| {
                    t.nodes
                        .into_iter()
                        .map(|n| ((n.name.clone(), n.kind), n))
                        .collect()
                })
                .unwrap_or_default();
            let mut units = Vec::new();
            let mut batch: Vec<Entry<S::Handle>> = Vec::new();
            let mut batch_bytes = 0;
            for c in children {
                let prev = previous.remove(&(c.node.name.clone(), c.node.kind));
                // A parent with parts to reuse (a key's versions) is read with it, alone.
                let parts = prev.as_ref().is_some_and(Node::has_history);
                let small_read = c.node.kind == NodeKind::File
                    && c.node.size <= SMALL_FILE
                    && !parts
                    && !prev.as_ref().is_some_and(|p| self.reusable(&c.node, p));
                if small_read {
                    batch_bytes += c.node.size;
                    batch.push(c);
                    if batch.len() >= BATCH_FILES || batch_bytes >= BATCH_BYTES {
                        units.push(Unit::Batch(std::mem::take(&mut batch)));
                        batch_bytes = 0;
                    }
                    continue;
                }
                if !batch.is_empty() {
                    units.push(Unit::Batch(std::mem::take(&mut batch)));
                    batch_bytes = 0;
                }
                units.push(Unit::One(Box::new((c, prev))));
            }
            if !batch.is_empty() {
                units.push(Unit::Batch(batch));
            }
            // In order: the same source always gives the same tree. The window is narrow on
            // purpose: each directory in it holds its listing, and wide windows nest.
            let nodes: Vec<Vec<Option<Node>>> = stream::iter(units)
                .map(|u| {
                    let this = self.clone();
                    let path = path.clone();
                    async move {
                        match u {
                            Unit::One(one) => {
                                let (c, prev) = *one;
                                Ok(vec![this.archive_entry(c, prev, path).await?])
                            }
                            Unit::Batch(b) => this.archive_batch(b).await,
                        }
                    }
                })
                .buffered(self.source.concurrency().max(1))
                .try_collect()
                .await?;
            self.save_tree(
                Tree::new(nodes.into_iter().flatten().flatten().collect()),
                &path,
            )
            .await
        }
        .boxed()
    }

    /// Small files to read, read together: one blocking task instead of one per file.
    async fn archive_batch(
        self: Arc<Self>,
        batch: Vec<Entry<S::Handle>>,
    ) -> Result<Vec<Option<Node>>> {
        if self.cancel.is_requested() {
            return Err(KlosetError::Interrupted.into());
        }
        let nodes = {
            let _permit = self.reads.acquire().await?;
            self.source.read_many(batch, &self.work).await?
        };
        for node in nodes.iter().flatten() {
            self.stats.files_read.fetch_add(1, Ordering::Relaxed);
            self.counted(node);
        }
        Ok(nodes)
    }

    /// The parent's node says the content has not changed, and every blob of it is stored.
    fn reusable(&self, node: &Node, prev: &Node) -> bool {
        prev.kind == NodeKind::File
            && self.source.unchanged(node, prev)
            && prev.blobs().all(|id| self.work.saver.is_known(id))
    }

    fn counted(&self, node: &Node) {
        let files = self.stats.files.fetch_add(1, Ordering::Relaxed) + 1;
        self.stats.bytes.fetch_add(node.size, Ordering::Relaxed);
        if files % 64 == 0 {
            self.work.progress.set_message(format!("{files} files"));
        }
    }

    /// Ok(None): the entry could not be read (already reported). `dir`: the path of the
    /// directory holding it.
    async fn archive_entry(
        self: Arc<Self>,
        entry: Entry<S::Handle>,
        prev: Option<Node>,
        dir: Arc<str>,
    ) -> Result<Option<Node>> {
        if self.cancel.is_requested() {
            return Err(KlosetError::Interrupted.into());
        }
        let count = |c: &std::sync::atomic::AtomicU64, n: u64| c.fetch_add(n, Ordering::Relaxed);
        match entry.node.kind {
            NodeKind::Dir => {
                count(&self.stats.dirs, 1);
                let parent = self
                    .parent_tree(
                        prev.filter(|p| p.kind == NodeKind::Dir)
                            .and_then(|p| p.subtree),
                    )
                    .await;
                let mut node = entry.node.clone();
                let path: Arc<str> = match &*dir {
                    "" => node.name.as_str().into(),
                    "/" => format!("/{}", node.name).into(),
                    d => format!("{d}/{}", node.name).into(),
                };
                node.subtree = Some(self.clone().archive_dir(entry, parent, path).await?);
                Ok(Some(node))
            }
            NodeKind::Symlink => {
                count(&self.stats.symlinks, 1);
                Ok(Some(entry.node))
            }
            NodeKind::Fifo | NodeKind::Chardev | NodeKind::Blockdev => Ok(Some(entry.node)),
            NodeKind::File => {
                let (reusable, changed) = match prev {
                    Some(p) if self.reusable(&entry.node, &p) => (Some(p), None),
                    p => (None, p),
                };
                let node = match reusable {
                    Some(p) => {
                        self.work.progress.add_bytes(entry.node.size);
                        self.source.reuse(entry.node, &p)
                    }
                    None => {
                        let _permit = self.reads.acquire().await?;
                        let read = self.source.read_after(entry, changed.as_ref(), &self.work);
                        match read.await? {
                            Some(n) => {
                                count(&self.stats.files_read, 1);
                                n
                            }
                            None => return Ok(None),
                        }
                    }
                };
                self.counted(&node);
                Ok(Some(node))
            }
        }
    }

    /// A parent tree that cannot be read only costs re-reading files, never correctness.
    async fn parent_tree(&self, id: Option<Id>) -> Option<Tree> {
        let id = id?;
        let prefetched = self.parents.lock().expect("parents").remove(&id);
        match prefetched {
            Some(t) => Some(t),
            None => self.repo.load_tree(&id).await.ok(),
        }
    }

    async fn save_tree(&self, tree: Tree, dir: &str) -> Result<Id> {
        self.work.saver.save_tree_async(&tree, dir).await
    }
}
