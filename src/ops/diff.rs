//! `diff A B`: what changed between two snapshots. Directories whose tree ids are equal are
//! identical and skipped without loading; for S3 objects, changed metadata and tags count.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::walk::{child_path, Visit, WalkOptions};
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
    /// Same current content, other versions or delete markers in the key's history.
    Versions,
}

#[derive(Debug, Serialize)]
pub struct Changed {
    pub path: String,
    pub change: Change,
}

/// Level by level through `Repo::walk`: each level's differing directory pairs loaded
/// together (one coalesced read per pack), equal subtrees never loaded, added or removed
/// directories listed in one walk per level.
pub async fn diff(repo: &IndexedRepo, a: Id, b: Id) -> Result<Vec<Changed>> {
    let mut out = Vec::new();
    let mut level: Vec<(String, Id, Id)> = vec![(String::new(), a, b)];
    while !level.is_empty() {
        level.retain(|(_, x, y)| x != y);
        let trees = both_sides(repo, &level).await?;
        let mut next = Vec::new();
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for ((base, _, _), (ta, tb)) in level.iter().zip(trees) {
            let key = |n: &Node| (n.name.clone(), n.kind == NodeKind::Dir);
            let mut left: BTreeMap<(String, bool), Node> =
                ta.into_iter().map(|n| (key(&n), n)).collect();
            let mut both = Vec::new();
            let mut new_only = Vec::new();
            for n in tb {
                match left.remove(&key(&n)) {
                    Some(old) => both.push((old, n)),
                    None => new_only.push(n),
                }
            }
            let path_of = |n: &Node| format!("{base}/{}", n.name);
            for n in left.into_values() {
                listed(&n, path_of(&n), Change::Removed, &mut out, &mut removed);
            }
            for n in new_only {
                listed(&n, path_of(&n), Change::Added, &mut out, &mut added);
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
                        next.push((path, x, y));
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
                    _ if version_ids(&old) != version_ids(&new) => out.push(Changed {
                        path,
                        change: Change::Versions,
                    }),
                    _ if !same_metadata(&old, &new) => out.push(Changed {
                        path,
                        change: Change::Metadata,
                    }),
                    _ => {}
                }
            }
        }
        below(repo, removed, Change::Removed, &mut out).await?;
        below(repo, added, Change::Added, &mut out).await?;
        level = next;
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(out)
}

/// The nodes of both trees of each pair, in tree order: one walk that does not descend.
async fn both_sides(
    repo: &IndexedRepo,
    pairs: &[(String, Id, Id)],
) -> Result<Vec<(Vec<Node>, Vec<Node>)>> {
    // A root's path is its place here: (pair, side) as bytes.
    let root = |i: usize, side: u8| {
        let mut p = (i as u64).to_be_bytes().to_vec();
        p.push(side);
        p
    };
    let roots = pairs
        .iter()
        .enumerate()
        .flat_map(|(i, (_, x, y))| [(root(i, 0), *x), (root(i, 1), *y)])
        .collect();
    let mut out: Vec<(Vec<Node>, Vec<Node>)> = vec![Default::default(); pairs.len()];
    repo.walk(roots, WalkOptions::default(), |v| {
        if let Visit::Node { parent, node } = v {
            let i = u64::from_be_bytes(parent[..8].try_into().expect("a root path")) as usize;
            match parent[8] {
                0 => out[i].0.push(node.clone()),
                _ => out[i].1.push(node.clone()),
            }
        }
        false
    })
    .await?;
    Ok(out)
}

/// An added or removed entry; a directory's subtree is listed by `below`.
fn listed(
    node: &Node,
    path: String,
    change: Change,
    out: &mut Vec<Changed>,
    dirs: &mut Vec<(Vec<u8>, Id)>,
) {
    if let (NodeKind::Dir, Some(sub)) = (node.kind, node.subtree) {
        dirs.push((path.trim_end_matches('/').as_bytes().to_vec(), sub));
        out.push(Changed {
            path: format!("{path}/"),
            change,
        });
    } else {
        out.push(Changed { path, change });
    }
}

/// Everything below added or removed directories (`/`-joined names, directories with a
/// trailing `/`), in one walk.
async fn below(
    repo: &IndexedRepo,
    dirs: Vec<(Vec<u8>, Id)>,
    change: Change,
    out: &mut Vec<Changed>,
) -> Result<()> {
    if dirs.is_empty() {
        return Ok(());
    }
    repo.walk(dirs, WalkOptions::default(), |v| match v {
        Visit::Node { parent, node } => {
            let mut path = String::from_utf8_lossy(&child_path(parent, node)).into_owned();
            if node.kind == NodeKind::Dir {
                path.push('/');
            }
            out.push(Changed { path, change });
            true
        }
        Visit::Pages { .. } | Visit::Broken { .. } => false,
    })
    .await
}

/// A key's history as its entries' version ids (a delete marker marked).
fn version_ids(n: &Node) -> Vec<(&str, bool)> {
    n.s3.iter()
        .flat_map(|m| &m.versions)
        .map(|v| (v.version_id.as_str(), v.delete_marker))
        .collect()
}

fn same_metadata(a: &Node, b: &Node) -> bool {
    a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime == b.mtime && a.s3 == b.s3
}
