//! The names a directory of a snapshot shows when browsed, the same in a mount and in the
//! UI: keys deleted in the bucket and names that are not names (`..`, `/`) are left out, and
//! where a name holds both a directory and an object (S3 keys `a` and `a/b`), the object is
//! shown as `a~object` (`a~object~2` if a key of that name is there too): every entry has a
//! name of its own. The UI's paths are made of these names, each part written so that
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
        let nodes: Vec<Node> = nodes
            .into_iter()
            .filter(|n| !n.is_deleted() && crate::restore::names::unfit(&n.name_bytes()).is_none())
            .collect();
        // Each name keeps its entry: the first directory of that name, else the first entry.
        let mut keeper: HashMap<Vec<u8>, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            let k = keeper.entry(n.name_bytes()).or_insert(i);
            if n.kind == NodeKind::Dir && nodes[*k].kind != NodeKind::Dir {
                *k = i;
            }
        }
        let mut taken: HashSet<Vec<u8>> = keeper.keys().cloned().collect();
        let mut entries = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.into_iter().enumerate() {
            let name = n.name_bytes();
            let kept = keeper[&name];
            if kept == i {
                entries.push((name, n));
                continue;
            }
            // The others of a name get names no entry has: an object beside a directory
            // `name~object`, a second entry of one name (a hostile tree) `name~2`.
            let mut base = name;
            if n.kind != NodeKind::Dir {
                base.extend_from_slice(b"~object");
            }
            let mut shown = base.clone();
            let mut k = 2;
            while taken.contains(&shown) {
                shown = [&base[..], format!("~{k}").as_bytes()].concat();
                k += 1;
            }
            taken.insert(shown.clone());
            entries.push((shown, n));
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
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
    fn a_shown_name_never_hides_a_real_one() {
        let mut dir = Node::new("a".into(), NodeKind::Dir);
        dir.subtree = Some(Id([1; 32]));
        let mut real = file("a~object");
        real.size = 99;
        let twice = file("b");
        let list = DirList::new(vec![file("a"), dir, real, file("b"), twice]);
        let names: Vec<&[u8]> = list.entries().iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(
            names,
            [&b"a~object~2"[..], b"a", b"a~object", b"b", b"b~object"]
        );
        assert_eq!(list.get(b"a~object").map(|n| n.size), Some(99));
        assert_eq!(list.entries().len(), list.by_name.len());
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
