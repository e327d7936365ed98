//! The trees of the snapshots counted, each loaded once and kept as a few numbers, so that
//! what a restore of each snapshot would write is summed without walking a shared subtree
//! twice.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind, Tree};
use crate::repo::walk::batches;
use crate::repo::IndexedRepo;

/// Calls `each` with every distinct tree below `roots` and its id, a level at a time in
/// batches (one coalesced read per pack per batch: few round trips, even on S3).
pub(super) async fn each_tree(
    repo: &IndexedRepo,
    roots: impl IntoIterator<Item = Id>,
    mut each: impl FnMut(Id, &Tree),
) -> Result<()> {
    // One bit per indexed blob: a big store's trees are never held as a set of ids.
    let mut seen = repo.blob_set();
    let mut level: Vec<Id> = roots.into_iter().filter(|t| seen.insert(*t)).collect();
    while !level.is_empty() {
        let mut next = Vec::new();
        for batch in batches(&level, |id| repo.tree_size(id)) {
            for (id, tree) in repo.load_trees(batch.to_vec()).await? {
                next.extend(subtrees(&tree).filter(|s| seen.insert(*s)));
                each(id, &tree);
            }
        }
        level = next;
    }
    Ok(())
}

pub(super) fn subtrees(tree: &Tree) -> impl Iterator<Item = Id> + '_ {
    tree.nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Dir)
        .filter_map(|n| n.subtree)
}

/// A regular file a restore writes: S3 keys whose newest entry is a delete marker are not.
pub(super) fn is_counted_file(n: &Node) -> bool {
    n.kind == NodeKind::File && !n.is_deleted()
}

/// One file of several names (restic counts its size once per snapshot, each name as a file).
pub(super) fn hard_link(n: &Node) -> Option<(u64, u64)> {
    (n.links > 1 && n.inode != 0).then_some((n.device, n.inode))
}

/// What one directory holds itself, its subdirectories by number.
#[derive(Default)]
pub(super) struct TreeFacts {
    pub(super) files: u64,
    /// Bytes of the files that are not hard links.
    pub(super) bytes: u64,
    /// Hard-linked files: (device, inode) and size. Their bytes are added once per snapshot,
    /// so they cannot go into a sum shared between snapshots.
    pub(super) links: Vec<((u64, u64), u64)>,
    pub(super) subtrees: Vec<u32>,
}

/// A subtree's files and bytes (hard links left out), and whether it holds hard links.
#[derive(Clone, Copy, Default)]
pub(super) struct Sum {
    pub(super) files: u64,
    pub(super) bytes: u64,
    pub(super) linked: bool,
}

/// Every tree of the snapshots counted, numbered: trees are kept as a few numbers each, so a
/// big store's directories fit where their trees would not.
#[derive(Default)]
pub(super) struct TreeGraph {
    pub(super) number: HashMap<Id, u32>,
    pub(super) trees: Vec<TreeFacts>,
}

impl TreeGraph {
    pub(super) fn number_of(&mut self, id: Id) -> u32 {
        let next = self.trees.len() as u32;
        let n = *self.number.entry(id).or_insert(next);
        if n == next {
            self.trees.push(TreeFacts::default());
        }
        n
    }

    pub(super) fn add(&mut self, id: Id, tree: &Tree) {
        let mut facts = TreeFacts {
            subtrees: subtrees(tree).map(|s| self.number_of(s)).collect(),
            ..TreeFacts::default()
        };
        for n in tree.nodes.iter().filter(|n| is_counted_file(n)) {
            facts.files += 1;
            match hard_link(n) {
                Some(link) => facts.links.push((link, n.size)),
                None => facts.bytes += n.size,
            }
        }
        let at = self.number_of(id) as usize;
        self.trees[at] = facts;
    }

    /// The sum of every tree, children before parents, without recursion (directories nest
    /// deeper than a stack allows).
    pub(super) fn sums(&self) -> Vec<Sum> {
        let mut sums = vec![Sum::default(); self.trees.len()];
        let mut entered = vec![false; self.trees.len()];
        for start in 0..self.trees.len() {
            if entered[start] {
                continue;
            }
            // (tree, how many of its subtrees are handled); ids are content hashes, so there
            // is no cycle, and marking trees on entry means a forged one cannot loop either.
            let mut stack = vec![(start, 0usize)];
            entered[start] = true;
            while let Some((t, k)) = stack.last_mut() {
                let (t, child) = (*t, self.trees[*t].subtrees.get(*k).copied());
                *k += 1;
                match child.map(|c| c as usize) {
                    Some(c) if !entered[c] => {
                        entered[c] = true;
                        stack.push((c, 0));
                    }
                    Some(_) => {}
                    None => {
                        sums[t] = self.own_sum(t, &sums);
                        stack.pop();
                    }
                }
            }
        }
        sums
    }

    pub(super) fn own_sum(&self, t: usize, sums: &[Sum]) -> Sum {
        let f = &self.trees[t];
        let mut s = Sum {
            files: f.files,
            bytes: f.bytes,
            linked: !f.links.is_empty(),
        };
        for &c in &f.subtrees {
            let c = sums[c as usize];
            s.files += c.files;
            s.bytes += c.bytes;
            s.linked |= c.linked;
        }
        s
    }

    /// Files and bytes of the snapshot with root `root`: the shared sum, plus each hard-linked
    /// file of it once.
    pub(super) fn restore_size(&self, sums: &[Sum], root: &Id) -> (u64, u64) {
        let Some(&r) = self.number.get(root) else {
            return (0, 0);
        };
        let s = sums[r as usize];
        let links = match s.linked {
            true => self.linked_bytes(sums, r),
            false => 0,
        };
        (s.files, s.bytes + links)
    }

    /// Bytes of the distinct hard-linked files below `root`, walking only the subtrees that
    /// hold some.
    pub(super) fn linked_bytes(&self, sums: &[Sum], root: u32) -> u64 {
        let mut seen_links = HashSet::new();
        let mut seen_trees = HashSet::from([root]);
        let (mut stack, mut bytes) = (vec![root], 0);
        while let Some(t) = stack.pop() {
            let f = &self.trees[t as usize];
            for (link, size) in &f.links {
                if seen_links.insert(*link) {
                    bytes += size;
                }
            }
            for &c in &f.subtrees {
                if sums[c as usize].linked && seen_trees.insert(c) {
                    stack.push(c);
                }
            }
        }
        bytes
    }
}
