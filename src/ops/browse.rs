//! Naming things inside snapshots: `ID[:/path]`, and walking a tree to that path.

use std::collections::BTreeSet;

use anyhow::Result;

use crate::error::KlosetError;
use crate::ops::forget::Filter;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::{Node, NodeKind, Tree};
use crate::repo::walk::{child_path, Visit, WalkOptions};
use crate::repo::{IndexedRepo, Repo};

/// `9f3c1a2b:/sub/dir` -> ("9f3c1a2b", "/sub/dir"); no colon means the whole snapshot.
pub fn split_spec(spec: &str) -> (&str, &str) {
    match spec.split_once(':') {
        Some((id, path)) => (id, path),
        None => (spec, ""),
    }
}

pub enum Found {
    /// The snapshot root, or a directory: its tree id and (for directories) its node.
    Dir(Id, Option<Node>),
    File(Node),
}

pub struct Resolved {
    pub id: Id,
    pub snapshot: Snapshot,
    pub found: Found,
}

pub async fn resolve(repo: &IndexedRepo, spec: &str) -> Result<Resolved> {
    resolve_with(repo, spec, &Filter::default(), None).await
}

/// Like `resolve`, with `latest` chosen by `pick`.
pub async fn resolve_with(
    repo: &IndexedRepo,
    spec: &str,
    filter: &Filter,
    at_hand: Option<&str>,
) -> Result<Resolved> {
    let (prefix, path) = split_spec(spec);
    let (id, snapshot) = pick(repo, prefix, filter, at_hand).await?;
    let found = walk(repo, snapshot.tree, path, spec).await?;
    Ok(Resolved {
        id,
        snapshot,
        found,
    })
}

/// A snapshot by id prefix, or `latest`: the newest the filter selects. With no filter in a
/// store holding several sources, the newest of the source at hand (a restore's target that
/// is also a source), else an error naming the filters to add: never another source's newest.
pub async fn pick(
    repo: &Repo,
    prefix: &str,
    filter: &Filter,
    at_hand: Option<&str>,
) -> Result<(Id, Snapshot)> {
    if prefix != "latest" {
        return repo.find_snapshot(prefix).await;
    }
    let mut all = repo.snapshots().await?;
    all.retain(|(_, s)| filter.matches(s));
    if filter.is_empty() {
        let sources: BTreeSet<&str> = all.iter().map(|(_, s)| s.source_key.as_str()).collect();
        if sources.len() > 1 {
            let here: Vec<(Id, Snapshot)> = match at_hand {
                Some(h) => all
                    .iter()
                    .filter(|(_, s)| is_source(s, h))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            if here.is_empty() {
                let shown: BTreeSet<String> = all
                    .iter()
                    .map(|(_, s)| format!("{} on {}", s.source, s.host))
                    .collect();
                return Err(KlosetError::AmbiguousLatest(
                    shown.into_iter().collect::<Vec<_>>().join(", "),
                )
                .into());
            }
            all = here;
        }
    }
    all.pop()
        .ok_or_else(|| KlosetError::UnknownSnapshot(format!("latest {}", filter.describe())).into())
}

fn is_source(snap: &Snapshot, at_hand: &str) -> bool {
    snap.source == at_hand || snap.paths.iter().any(|p| p == at_hand)
}

/// The entry at `path` below the tree `root`; `spec` names it in errors.
pub async fn walk(repo: &IndexedRepo, root: Id, path: &str, spec: &str) -> Result<Found> {
    let mut current = Found::Dir(root, None);
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let tree_id = match &current {
            Found::Dir(id, _) => *id,
            Found::File(_) => return Err(not_found(spec)),
        };
        let tree: Tree = repo.load_tree(&tree_id).await?;
        // A name can hold a file and a directory (S3 keys `a` and `a/b`): prefer the directory
        // while there is more path to walk.
        let mut matches = tree.nodes.into_iter().filter(|n| n.name == part);
        let first = matches.next().ok_or_else(|| not_found(spec))?;
        let node = match matches.next() {
            Some(second) if second.kind == NodeKind::Dir => second,
            _ => first,
        };
        current = match node.kind {
            NodeKind::Dir => Found::Dir(node.subtree.unwrap_or_default(), Some(node)),
            _ => Found::File(node),
        };
    }
    Ok(current)
}

fn not_found(spec: &str) -> anyhow::Error {
    KlosetError::Usage(format!(
        "no such path in snapshot: '{spec}': run 'kloset ls ID:/' to browse it"
    ))
    .into()
}

/// Every node below a tree with its path (`/`-joined names, as S3 keys are), in path order.
pub async fn walk_all(repo: &IndexedRepo, root: Id, base: &str) -> Result<Vec<(String, Node)>> {
    let base = base.trim_end_matches('/').as_bytes().to_vec();
    let mut out = Vec::new();
    repo.walk(vec![(base, root)], WalkOptions::default(), |v| match v {
        Visit::Node { parent, node } => {
            let path = String::from_utf8_lossy(&child_path(parent, node)).into_owned();
            out.push((path, node.clone()));
            true
        }
        Visit::Pages { .. } | Visit::Broken { .. } => false,
    })
    .await?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
