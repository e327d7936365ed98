//! The one tree walker. Breadth first, each level's trees fetched together (one coalesced read
//! per pack per level), so walking a snapshot costs few round trips even on S3. The visitor
//! decides, node by node, whether to descend into a directory.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use super::id::Id;
use super::tree::{Node, NodeKind};
use super::IndexedRepo;

/// Trees loaded together (one coalesced read per pack among them), then visited and dropped:
/// at most this many, and at most this many bytes of them (a decoded tree takes about twice
/// its JSON), so a level of wide directories is never in memory at once.
const TREES_AT_ONCE: usize = 1024;
const TREE_BYTES_AT_ONCE: u64 = 16 * 1024 * 1024;

/// `ids` cut into runs of at most `TREES_AT_ONCE` trees and, unless one tree alone is more,
/// `TREE_BYTES_AT_ONCE` bytes by `size`.
pub fn batches(ids: &[Id], size: impl Fn(&Id) -> u64) -> Vec<&[Id]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, id) in ids.iter().enumerate() {
        let s = size(id);
        if i > start && (i - start == TREES_AT_ONCE || bytes + s > TREE_BYTES_AT_ONCE) {
            out.push(&ids[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += s;
    }
    if start < ids.len() {
        out.push(&ids[start..]);
    }
    out
}

#[derive(Clone, Copy, Default)]
pub struct WalkOptions {
    /// Visit each tree once even when several paths (or snapshots) share it: for checks, not
    /// for restores, which need every path.
    pub once: bool,
    /// Report a tree that cannot be loaded to the visitor and go on, instead of failing.
    pub tolerate: bool,
}

pub enum Visit<'a> {
    /// A node, with the raw path of the directory holding it (see `child_path`).
    Node { parent: &'a [u8], node: &'a Node },
    /// The page blobs of a paged tree (once per tree, before its nodes): blobs the snapshot
    /// needs, like the tree's own id.
    Pages { tree: Id, pages: &'a [Id] },
    /// A tree that could not be loaded (only with `tolerate`): its subtree is skipped.
    Broken {
        parent: &'a [u8],
        tree: Id,
        error: anyhow::Error,
    },
}

/// `parent/name` with the node's raw name bytes. Every path below a root starts with `/` (the
/// root itself is empty), so an empty name stays visible: S3 keys `/x` and `x` differ.
pub fn child_path(parent: &[u8], node: &Node) -> Vec<u8> {
    let name = node.name_bytes();
    let mut p = Vec::with_capacity(parent.len() + 1 + name.len());
    p.extend_from_slice(parent);
    p.push(b'/');
    p.extend_from_slice(&name);
    p
}

impl IndexedRepo {
    /// Walks the trees under `roots` (each with the path it stands for). `visit` returns
    /// whether to descend into a directory node.
    pub async fn walk(
        &self,
        roots: Vec<(Vec<u8>, Id)>,
        opts: WalkOptions,
        mut visit: impl FnMut(Visit<'_>) -> bool,
    ) -> Result<()> {
        let mut seen: HashSet<Id> = HashSet::new();
        let mut level = roots;
        while !level.is_empty() {
            let mut paths_of: HashMap<Id, Vec<Vec<u8>>> = HashMap::new();
            for (path, id) in std::mem::take(&mut level) {
                if opts.once && !seen.insert(id) {
                    continue;
                }
                paths_of.entry(id).or_default().push(path);
            }
            // A stable order: the same store always walks the same way (several roots share a
            // path, so the id breaks ties).
            let order = |a: &Id, b: &Id| paths_of[a].cmp(&paths_of[b]).then_with(|| a.cmp(b));
            let mut ids: Vec<Id> = paths_of.keys().copied().collect();
            ids.sort_by(order);
            for batch in batches(&ids, |id| self.tree_size(id)) {
                let mut loaded = self.load_trees_each(batch.to_vec()).await;
                loaded.sort_by(|a, b| order(&a.0, &b.0));
                for (id, tree) in loaded {
                    let tree = match tree {
                        Ok(t) => t,
                        Err(error) if opts.tolerate => {
                            visit(Visit::Broken {
                                parent: &paths_of[&id][0],
                                tree: id,
                                error,
                            });
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if !tree.pages.is_empty() {
                        visit(Visit::Pages {
                            tree: id,
                            pages: &tree.pages,
                        });
                    }
                    for parent in &paths_of[&id] {
                        for node in &tree.nodes {
                            let descend = visit(Visit::Node { parent, node });
                            if let (true, NodeKind::Dir, Some(sub)) =
                                (descend, node.kind, node.subtree)
                            {
                                level.push((child_path(parent, node), sub));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The trees below `root`, loaded level by level: one coalesced read per pack per level
    /// instead of one request per directory (what makes an unchanged re-backup to S3 cheap).
    /// Loading stops after the level that brings the entries past `max_entries`: a parent
    /// snapshot of a million files is not held whole; the rest is read tree by tree.
    pub async fn load_tree_set(
        &self,
        root: Id,
        max_entries: usize,
    ) -> Result<HashMap<Id, super::tree::Tree>> {
        let mut all = HashMap::new();
        let mut entries = 0usize;
        let mut next = vec![root];
        while !next.is_empty() && entries < max_entries {
            let ids: HashSet<Id> = next.drain(..).filter(|id| !all.contains_key(id)).collect();
            let ids: Vec<Id> = ids.into_iter().collect();
            // Batch by batch, so a wide level stops near the budget instead of past it.
            for batch in batches(&ids, |id| self.tree_size(id)) {
                if entries >= max_entries {
                    break;
                }
                for (id, tree) in self.load_trees(batch.to_vec()).await? {
                    entries += tree.nodes.len();
                    for n in &tree.nodes {
                        if n.kind == NodeKind::Dir {
                            next.extend(n.subtree);
                        }
                    }
                    all.insert(id, tree);
                }
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_by_count_and_by_bytes_but_never_empty() {
        let ids: Vec<Id> = (0..3000u32)
            .map(|i| Id::of_bytes(&i.to_le_bytes()))
            .collect();
        let counts = |b: Vec<&[Id]>| b.iter().map(|b| b.len()).collect::<Vec<_>>();
        assert_eq!(counts(batches(&ids, |_| 1)), [1024, 1024, 952]);
        let half = TREE_BYTES_AT_ONCE / 2;
        assert_eq!(counts(batches(&ids[..5], |_| half)), [2, 2, 1]);
        // A tree bigger than the budget goes alone.
        assert_eq!(counts(batches(&ids[..3], |_| 3 * half)), [1, 1, 1]);
        assert!(batches(&[], |_| 1).is_empty());
    }

    #[test]
    fn paths_keep_empty_names_visible() {
        let node = |name: &str| Node::new(name.to_string(), NodeKind::Dir);
        assert_eq!(child_path(b"", &node("a")), b"/a");
        // S3 key `/x`: a folder with an empty name at the root, then `x`.
        let empty = child_path(b"", &node(""));
        assert_eq!(child_path(&empty, &node("x")), b"//x");
        let mut raw = node("lossy");
        raw.name_raw = Some(hex::encode(b"\xffname"));
        assert_eq!(child_path(b"/d", &raw), b"/d/\xffname");
    }
}
