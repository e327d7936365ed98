//! The names a directory of a snapshot shows when browsed, the same in a mount and in the
//! UI: keys deleted in the bucket and names that are not names (`..`, `/`) are left out, and
//! where a name holds both a directory and an object (S3 keys `a` and `a/b`), the object is
//! shown as `a~object`. The UI's paths are made of these names, each part written so that
//! any raw name has exactly one spelling (`part`), so every entry shown can be reached and
//! none is reached by mistake.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use crate::error::KlosetError;
use crate::ops::browse::Found;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::IndexedRepo;

/// A directory as shown, its entries found by name in O(1).
pub struct DirList {
    entries: Vec<(Vec<u8>, Node)>,
    by_name: HashMap<Vec<u8>, usize>,
}

impl DirList {
    pub fn new(nodes: Vec<Node>) -> DirList {
        let dirs: HashSet<Vec<u8>> = nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Dir)
            .map(Node::name_bytes)
            .collect();
        let entries: Vec<(Vec<u8>, Node)> = nodes
            .into_iter()
            .filter(|n| !n.is_deleted())
            .filter_map(|n| {
                let mut name = n.name_bytes();
                if crate::restore::names::unfit(&name).is_some() {
                    return None;
                }
                if n.kind != NodeKind::Dir && dirs.contains(&name) {
                    name.extend_from_slice(b"~object");
                }
                Some((name, n))
            })
            .collect();
        // The first of two entries of one name wins, as a restore's would.
        let mut by_name = HashMap::with_capacity(entries.len());
        for (i, (name, _)) in entries.iter().enumerate() {
            by_name.entry(name.clone()).or_insert(i);
        }
        DirList { entries, by_name }
    }

    pub fn get(&self, name: &[u8]) -> Option<&Node> {
        self.by_name.get(name).map(|&i| &self.entries[i].1)
    }

    pub fn entries(&self) -> &[(Vec<u8>, Node)] {
        &self.entries
    }
}

/// Marks a part written as hex: names that are not UTF-8, and names that start so.
const RAW: &str = "~x";

/// A shown name as one part of a UI path: as it is when it is UTF-8, else `~x` and hex.
pub fn part(name: &[u8]) -> String {
    match std::str::from_utf8(name) {
        Ok(s) if !s.starts_with(RAW) => s.to_string(),
        _ => format!("{RAW}{}", hex::encode(name)),
    }
}

/// The shown name a part stands for.
pub fn name_of(part: &str) -> Vec<u8> {
    part.strip_prefix(RAW)
        .and_then(|h| hex::decode(h).ok())
        .unwrap_or_else(|| part.as_bytes().to_vec())
}

/// The entry at `path` (parts as `part` writes them, `/` between) below the tree `root`.
pub async fn walk(repo: &IndexedRepo, root: Id, path: &str) -> Result<Found> {
    let mut current = Found::Dir(root, None);
    for p in path.split('/').filter(|p| !p.is_empty()) {
        let Found::Dir(tree_id, _) = current else {
            return Err(no_such(path));
        };
        let list = DirList::new(repo.load_tree(&tree_id).await?.nodes);
        let node = list.get(&name_of(p)).ok_or_else(|| no_such(path))?.clone();
        current = match node.kind {
            NodeKind::Dir => Found::Dir(node.subtree.unwrap_or_default(), Some(node)),
            _ => Found::File(node),
        };
    }
    Ok(current)
}

fn no_such(path: &str) -> anyhow::Error {
    KlosetError::Usage(format!("no such entry: '{path}': go back to the directory")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> Node {
        Node::new(name.into(), NodeKind::File)
    }

    #[test]
    fn deleted_keys_and_unfit_names_are_hidden_and_a_shared_name_is_told_apart() {
        let mut dir = Node::new("a".into(), NodeKind::Dir);
        dir.subtree = Some(Id([1; 32]));
        let list = DirList::new(vec![file("a"), dir, file(".."), file("b")]);
        let names: Vec<&[u8]> = list.entries().iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(names, [&b"a~object"[..], b"a", b"b"]);
        assert_eq!(list.get(b"a").map(|n| n.kind), Some(NodeKind::Dir));
        assert_eq!(list.get(b"a~object").map(|n| n.kind), Some(NodeKind::File));
        assert!(list.get(b"..").is_none());
    }

    #[test]
    fn every_raw_name_has_one_spelling() {
        for name in [
            &b"plain.txt"[..],
            b"caf\xe9",
            b"~x00",
            b"~xzz",
            b"a~object",
            b"",
        ] {
            assert_eq!(name_of(&part(name)), name, "{name:?}");
        }
        assert_eq!(part(b"plain.txt"), "plain.txt");
        assert_eq!(part(b"caf\xe9"), "~x636166e9");
        assert_ne!(part(b"~x00"), "~x00");
    }
}
