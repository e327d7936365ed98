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
use crate::repo::Repo;

pub struct Archiver<S: Source> {
    repo: Arc<Repo>,
    source: Arc<S>,
    work: Arc<Work>,
    /// Source reads and directory listings in flight.
    reads: Semaphore,
    cancel: Cancel,
    pub stats: WalkStats,
}

impl<S: Source> Archiver<S> {
    pub fn new(repo: Arc<Repo>, source: Arc<S>, work: Arc<Work>, cancel: Cancel) -> Self {
        let reads = Semaphore::new(source.concurrency().max(1));
        Archiver {
            repo,
            source,
            work,
            reads,
            cancel,
            stats: WalkStats::default(),
        }
    }

    /// Archives the source and returns the id of the snapshot's root tree.
    pub async fn run(self: &Arc<Self>, parent_root: Option<Id>) -> Result<Id> {
        let parent = self.parent_tree(parent_root).await;
        let root = self.source.root().await?;
        if root.node.kind == NodeKind::Dir {
            return self.clone().archive_dir(root, parent).await;
        }
        let prev = parent.and_then(|t| {
            t.nodes
                .into_iter()
                .find(|n| n.name == root.node.name && n.kind == root.node.kind)
        });
        let node = self.clone().archive_entry(root, prev).await?;
        self.save_tree(Tree {
            nodes: node.into_iter().collect(),
        })
        .await
    }

    fn archive_dir(
        self: Arc<Self>,
        dir: Entry<S::Handle>,
        parent: Option<Tree>,
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
            let nodes: Vec<Option<Node>> = stream::iter(children)
                .map(|c| {
                    let prev = previous.remove(&(c.node.name.clone(), c.node.kind));
                    self.clone().archive_entry(c, prev)
                })
                // A wide window: the read permits bound the work, the window only lets a
                // directory's later entries start while earlier ones wait.
                .buffered(4 * self.source.concurrency().max(8))
                .try_collect()
                .await?;
            self.save_tree(Tree {
                nodes: nodes.into_iter().flatten().collect(),
            })
            .await
        }
        .boxed()
    }

    /// Ok(None): the entry could not be read (already reported).
    async fn archive_entry(
        self: Arc<Self>,
        entry: Entry<S::Handle>,
        prev: Option<Node>,
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
                node.subtree = Some(self.clone().archive_dir(entry, parent).await?);
                Ok(Some(node))
            }
            NodeKind::Symlink => {
                count(&self.stats.symlinks, 1);
                Ok(Some(entry.node))
            }
            NodeKind::File => {
                let reusable = prev.filter(|p| {
                    p.kind == NodeKind::File
                        && self.source.unchanged(&entry.node, p)
                        && p.content.iter().all(|id| self.work.saver.is_known(id))
                });
                let node = match reusable {
                    Some(p) => {
                        self.work.progress.add_bytes(entry.node.size);
                        self.source.reuse(entry.node, &p)
                    }
                    None => {
                        let _permit = self.reads.acquire().await?;
                        match self.source.read(entry, &self.work).await? {
                            Some(n) => {
                                count(&self.stats.files_read, 1);
                                n
                            }
                            None => return Ok(None),
                        }
                    }
                };
                let files = count(&self.stats.files, 1) + 1;
                count(&self.stats.bytes, node.size);
                if files % 64 == 0 {
                    self.work.progress.set_message(format!("{files} files"));
                }
                Ok(Some(node))
            }
        }
    }

    /// A parent tree that cannot be read only costs re-reading files, never correctness.
    async fn parent_tree(&self, id: Option<Id>) -> Option<Tree> {
        self.repo.load_tree(&id?).await.ok()
    }

    async fn save_tree(&self, tree: Tree) -> Result<Id> {
        let saver = self.work.saver.clone();
        tokio::task::spawn_blocking(move || saver.save_tree(&tree)).await?
    }
}
