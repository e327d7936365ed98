//! `diff A B`: what changed between two snapshots. Directories whose tree ids are equal are
//! identical and skipped without loading; for S3 objects, changed metadata and tags count.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::future::BoxFuture;
use serde::Serialize;

use super::browse::walk_all;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::IndexedRepo;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    /// Content differs.
    Modified,
    /// Same content, other metadata (mode, owner, times, S3 metadata or tags).
    Metadata,
}

#[derive(Debug, Serialize)]
pub struct Changed {
    pub path: String,
    pub change: Change,
}

pub async fn diff(repo: &IndexedRepo, a: Id, b: Id) -> Result<Vec<Changed>> {
    let mut out = Vec::new();
    compare(repo, a, b, String::new(), &mut out).await?;
    out.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(out)
}

fn compare<'a>(
    repo: &'a IndexedRepo,
    a: Id,
    b: Id,
    base: String,
    out: &'a mut Vec<Changed>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if a == b {
            return Ok(());
        }
        let (ta, tb) = (repo.load_tree(&a).await?, repo.load_tree(&b).await?);
        let key = |n: &Node| (n.name.clone(), n.kind == NodeKind::Dir);
        let mut left: BTreeMap<(String, bool), Node> =
            ta.nodes.into_iter().map(|n| (key(&n), n)).collect();
        let mut both = Vec::new();
        let mut added = Vec::new();
        for n in tb.nodes {
            match left.remove(&key(&n)) {
                Some(old) => both.push((old, n)),
                None => added.push(n),
            }
        }
        let path_of = |n: &Node| format!("{base}/{}", n.name);
        for n in left.into_values() {
            listed(repo, &n, path_of(&n), Change::Removed, out).await?;
        }
        for n in added {
            listed(repo, &n, path_of(&n), Change::Added, out).await?;
        }
        for (old, new) in both {
            let path = path_of(&new);
            match (old.kind, old.subtree, new.subtree) {
                (NodeKind::Dir, Some(x), Some(y)) => {
                    if !same_metadata(&old, &new) {
                        out.push(Changed {
                            path: path.clone(),
                            change: Change::Metadata,
                        });
                    }
                    compare(repo, x, y, path, out).await?;
                }
                _ if old.kind != new.kind
                    || old.content != new.content
                    || old.target != new.target =>
                {
                    out.push(Changed {
                        path,
                        change: Change::Modified,
                    })
                }
                _ if !same_metadata(&old, &new) => out.push(Changed {
                    path,
                    change: Change::Metadata,
                }),
                _ => {}
            }
        }
        Ok(())
    })
}

/// An added or removed entry, and everything below it when it is a directory.
async fn listed(
    repo: &IndexedRepo,
    node: &Node,
    path: String,
    change: Change,
    out: &mut Vec<Changed>,
) -> Result<()> {
    if let (NodeKind::Dir, Some(sub)) = (node.kind, node.subtree) {
        out.push(Changed {
            path: format!("{path}/"),
            change,
        });
        for (p, n) in walk_all(repo, sub, &path).await? {
            let p = if n.kind == NodeKind::Dir {
                format!("{p}/")
            } else {
                p
            };
            out.push(Changed { path: p, change });
        }
    } else {
        out.push(Changed { path, change });
    }
    Ok(())
}

fn same_metadata(a: &Node, b: &Node) -> bool {
    a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime == b.mtime && a.s3 == b.s3
}
