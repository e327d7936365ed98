//! The inode numbers a mount hands out: one per name in a folder, kept for as long as the
//! name means the same thing (a catalog name can come to mean another snapshot after a
//! refresh: it then gets a new number), and one for all the hard links of a file inside a
//! snapshot, so that `stat` shows them as one file.

use std::collections::HashMap;

use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};

#[derive(Clone, Debug)]
pub enum What {
    /// A folder of the catalog, by its path.
    Folder(Vec<String>),
    /// A `latest` link.
    Link(String),
    /// A snapshot's root directory.
    Root {
        snapshot: Id,
        tree: Id,
        time_ns: i64,
    },
    /// An entry inside a snapshot; `root`: the inode of that snapshot's root.
    Entry { node: Box<Node>, root: u64 },
}

impl What {
    fn same(&self, other: &What) -> bool {
        match (self, other) {
            (What::Folder(a), What::Folder(b)) => a == b,
            (What::Link(a), What::Link(b)) => a == b,
            (What::Root { snapshot: a, .. }, What::Root { snapshot: b, .. }) => a == b,
            (What::Entry { node: a, .. }, What::Entry { node: b, .. }) => a == b,
            _ => false,
        }
    }

    /// The tree a directory lists, for snapshot roots and directories inside snapshots.
    pub fn tree(&self) -> Option<Id> {
        match self {
            What::Root { tree, .. } => Some(*tree),
            What::Entry { node, .. } if node.kind == NodeKind::Dir => {
                Some(node.subtree.unwrap_or_default())
            }
            _ => None,
        }
    }

    /// The snapshot root an entry belongs to (a root belongs to itself).
    pub fn root(&self, ino: u64) -> Option<u64> {
        match self {
            What::Root { .. } => Some(ino),
            What::Entry { root, .. } => Some(*root),
            _ => None,
        }
    }
}

pub struct Inode {
    pub what: What,
    /// Inside snapshots, which never change: the directory's entries once listed.
    pub children: Option<Vec<(Vec<u8>, u64)>>,
}

pub struct Inodes {
    table: HashMap<u64, Inode>,
    names: HashMap<(u64, Vec<u8>), u64>,
    /// (snapshot root, device, inode) of files with several links.
    links: HashMap<(u64, u64, u64), u64>,
    next: u64,
}

const ROOT: u64 = 1;

impl Default for Inodes {
    fn default() -> Self {
        let mut table = HashMap::new();
        table.insert(
            ROOT,
            Inode {
                what: What::Folder(Vec::new()),
                children: None,
            },
        );
        Inodes {
            table,
            names: HashMap::new(),
            links: HashMap::new(),
            next: ROOT + 1,
        }
    }
}

impl Inodes {
    pub fn get(&self, ino: u64) -> Option<&Inode> {
        self.table.get(&ino)
    }

    /// The number of `name` in `parent`, which means `what`.
    pub fn child(&mut self, parent: u64, name: &[u8], what: What) -> u64 {
        let key = (parent, name.to_vec());
        if let Some(&ino) = self.names.get(&key) {
            if self.table.get(&ino).is_some_and(|i| i.what.same(&what)) {
                return ino;
            }
        }
        let link_key = match &what {
            What::Entry { node, root } if node.kind == NodeKind::File && node.links > 1 => {
                Some((*root, node.device, node.inode))
            }
            _ => None,
        };
        if let Some(&ino) = link_key.as_ref().and_then(|k| self.links.get(k)) {
            self.names.insert(key, ino);
            return ino;
        }
        let ino = self.next;
        self.next += 1;
        self.table.insert(
            ino,
            Inode {
                what,
                children: None,
            },
        );
        self.names.insert(key, ino);
        if let Some(k) = link_key {
            self.links.insert(k, ino);
        }
        ino
    }

    pub fn set_children(&mut self, ino: u64, children: Vec<(Vec<u8>, u64)>) {
        if let Some(i) = self.table.get_mut(&ino) {
            i.children = Some(children);
        }
    }
}

/// The names a directory of a snapshot shows, with their nodes: keys deleted in the bucket
/// and names that are not names (`..`, `/`) are left out; where a name holds both a
/// directory and an object (S3 keys `a` and `a/b`), the object is shown as `a~object`.
pub fn shown(nodes: Vec<Node>) -> Vec<(Vec<u8>, Node)> {
    let dirs: std::collections::HashSet<Vec<u8>> = nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Dir)
        .map(Node::name_bytes)
        .collect();
    nodes
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, inode: u64, links: u64) -> Node {
        let mut n = Node::new(name.into(), NodeKind::File);
        n.inode = inode;
        n.links = links;
        n
    }

    #[test]
    fn names_keep_their_numbers_and_hard_links_share_one() {
        let mut t = Inodes::default();
        let root = t.child(
            ROOT,
            b"r",
            What::Root {
                snapshot: Id([1; 32]),
                tree: Id([2; 32]),
                time_ns: 0,
            },
        );
        let entry = |n: Node| What::Entry {
            node: Box::new(n),
            root,
        };
        let a = t.child(root, b"a", entry(file("a", 7, 2)));
        let b = t.child(root, b"b", entry(file("b", 7, 2)));
        let c = t.child(root, b"c", entry(file("c", 8, 1)));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.child(root, b"c", entry(file("c", 8, 1))), c);
        // A catalog name that now means another snapshot gets a new number.
        let again = t.child(
            ROOT,
            b"r",
            What::Root {
                snapshot: Id([3; 32]),
                tree: Id([2; 32]),
                time_ns: 0,
            },
        );
        assert_ne!(again, root);
    }

    #[test]
    fn deleted_keys_and_unfit_names_are_hidden_and_a_shared_name_is_told_apart() {
        let mut dir = Node::new("a".into(), NodeKind::Dir);
        dir.subtree = Some(Id([1; 32]));
        let nodes = vec![file("a", 1, 1), dir, file("..", 2, 1), file("b", 3, 1)];
        let names: Vec<Vec<u8>> = shown(nodes).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [b"a~object".to_vec(), b"a".to_vec(), b"b".to_vec()]);
    }
}
