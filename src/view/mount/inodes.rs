//! The inode numbers a mount hands out: one per name in a folder, kept for as long as the
//! name means the same thing (a catalog name can come to mean another snapshot after a
//! refresh: it then gets a new number), and one for all the hard links of a file inside a
//! snapshot, so that `stat` shows them as one file. The kernel's lookup counts are kept, so
//! that what it forgets is let go of and browsing a large store does not grow memory forever.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::view::listing::DirList;

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

    /// Files that are one file: the same hard link of one snapshot, with the same content and
    /// metadata (a store that says two entries are linked but gives them different bytes or
    /// owners is not believed).
    fn link_key(&self) -> Option<LinkKey> {
        match self {
            What::Entry { node, root } if node.kind == NodeKind::File && node.links > 1 => {
                let mut h = blake3::Hasher::new();
                for n in [
                    node.size,
                    node.mode.into(),
                    node.uid.into(),
                    node.gid.into(),
                ] {
                    h.update(&n.to_le_bytes());
                }
                h.update(&node.mtime.to_le_bytes());
                for id in &node.content {
                    h.update(&id.0);
                }
                Some((*root, node.device, node.inode, *h.finalize().as_bytes()))
            }
            _ => None,
        }
    }
}

/// (snapshot root, device, inode, hash of size and content).
type LinkKey = (u64, u64, u64, [u8; 32]);

pub struct Inode {
    pub what: What,
    /// Inside snapshots, which never change: the directory's entries once listed.
    pub children: Option<Arc<DirList>>,
    /// How many times the kernel was given this number and has not forgotten it.
    lookups: u64,
    /// The (parent, name) pairs that lead here: several for hard links.
    named: Vec<(u64, Vec<u8>)>,
}

pub struct Inodes {
    table: HashMap<u64, Inode>,
    /// Ordered by parent, so that the names in one folder can be found when it is let go.
    names: BTreeMap<(u64, Vec<u8>), u64>,
    links: HashMap<LinkKey, u64>,
    next: u64,
}

pub const ROOT: u64 = 1;

impl Default for Inodes {
    fn default() -> Self {
        let mut table = HashMap::new();
        table.insert(
            ROOT,
            Inode {
                what: What::Folder(Vec::new()),
                children: None,
                lookups: 1,
                named: Vec::new(),
            },
        );
        Inodes {
            table,
            names: BTreeMap::new(),
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
            // The name means something else now: the old number no longer has it.
            self.unname(ino, &key);
        }
        let link_key = what.link_key();
        if let Some(&ino) = link_key.as_ref().and_then(|k| self.links.get(k)) {
            if let Some(i) = self.table.get_mut(&ino) {
                i.named.push(key.clone());
                self.names.insert(key, ino);
                return ino;
            }
        }
        let ino = self.next;
        self.next += 1;
        self.table.insert(
            ino,
            Inode {
                what,
                children: None,
                lookups: 0,
                named: vec![key.clone()],
            },
        );
        self.names.insert(key, ino);
        if let Some(k) = link_key {
            self.links.insert(k, ino);
        }
        ino
    }

    pub fn set_children(&mut self, ino: u64, children: Arc<DirList>) {
        if let Some(i) = self.table.get_mut(&ino) {
            i.children = Some(children);
        }
    }

    /// The kernel was given `ino` (a lookup's answer).
    pub fn looked_up(&mut self, ino: u64) {
        if let Some(i) = self.table.get_mut(&ino) {
            i.lookups += 1;
        }
    }

    /// The kernel forgot `n` of its lookups of `ino`: at none, the number and what only it
    /// led to are let go. A name asked for again gets a new number.
    pub fn forget(&mut self, ino: u64, n: u64) {
        let Some(i) = self.table.get_mut(&ino) else {
            return;
        };
        i.lookups = i.lookups.saturating_sub(n);
        if i.lookups == 0 && ino != ROOT {
            self.release(ino);
        }
    }

    fn unname(&mut self, ino: u64, key: &(u64, Vec<u8>)) {
        self.names.remove(key);
        let Some(i) = self.table.get_mut(&ino) else {
            return;
        };
        i.named.retain(|k| k != key);
        if i.lookups == 0 && i.named.is_empty() && ino != ROOT {
            self.release(ino);
        }
    }

    /// Lets go of `ino`, and of the numbers in it the kernel does not hold.
    fn release(&mut self, ino: u64) {
        let mut stack = vec![ino];
        let mut seen = HashSet::new();
        while let Some(ino) = stack.pop() {
            if !seen.insert(ino) {
                continue;
            }
            let Some(gone) = self.table.remove(&ino) else {
                continue;
            };
            for key in &gone.named {
                if self.names.get(key) == Some(&ino) {
                    self.names.remove(key);
                }
            }
            if let Some(k) = gone.what.link_key() {
                if self.links.get(&k) == Some(&ino) {
                    self.links.remove(&k);
                }
            }
            let inside: Vec<((u64, Vec<u8>), u64)> = self
                .names
                .range((ino, Vec::new())..(ino + 1, Vec::new()))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            for (key, child) in inside {
                self.names.remove(&key);
                if let Some(c) = self.table.get_mut(&child) {
                    c.named.retain(|k| *k != key);
                    if c.lookups == 0 && c.named.is_empty() {
                        stack.push(child);
                    }
                }
            }
        }
    }
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

    fn root_of(snapshot: u8) -> What {
        What::Root {
            snapshot: Id([snapshot; 32]),
            tree: Id([2; 32]),
            time_ns: 0,
        }
    }

    fn entry(n: Node, root: u64) -> What {
        What::Entry {
            node: Box::new(n),
            root,
        }
    }

    #[test]
    fn names_keep_their_numbers_and_hard_links_share_one() {
        let mut t = Inodes::default();
        let root = t.child(ROOT, b"r", root_of(1));
        let a = t.child(root, b"a", entry(file("a", 7, 2), root));
        let b = t.child(root, b"b", entry(file("b", 7, 2), root));
        let c = t.child(root, b"c", entry(file("c", 8, 1), root));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.child(root, b"c", entry(file("c", 8, 1), root)), c);
        // A catalog name that now means another snapshot gets a new number.
        assert_ne!(t.child(ROOT, b"r", root_of(3)), root);
    }

    #[test]
    fn entries_said_to_be_linked_with_different_content_are_two_files() {
        let mut t = Inodes::default();
        let root = t.child(ROOT, b"r", root_of(1));
        let mut other = file("b", 7, 2);
        other.size = 5;
        let a = t.child(root, b"a", entry(file("a", 7, 2), root));
        assert_ne!(t.child(root, b"b", entry(other, root)), a);
    }

    #[test]
    fn what_the_kernel_forgets_is_let_go_with_what_only_it_led_to() {
        let mut t = Inodes::default();
        let root = t.child(ROOT, b"r", root_of(1));
        t.looked_up(root);
        let mut dir = Node::new("d".into(), NodeKind::Dir);
        dir.subtree = Some(Id([4; 32]));
        let d = t.child(root, b"d", entry(dir, root));
        t.looked_up(d);
        for i in 0..100u64 {
            t.child(d, format!("f{i}").as_bytes(), entry(file("f", i, 1), root));
        }
        let held = t.child(d, b"held", entry(file("held", 500, 1), root));
        t.looked_up(held);
        assert_eq!(t.table.len(), 104);
        t.forget(d, 1);
        // The held file stays until the kernel forgets it too.
        assert_eq!(t.table.len(), 3);
        t.forget(held, 1);
        t.forget(root, 1);
        assert_eq!(t.table.len(), 1);
        assert!(t.names.is_empty() && t.links.is_empty());
        // Forgetting the top, or a number already gone, does nothing.
        t.forget(ROOT, 5);
        t.forget(held, 1);
        assert!(t.get(ROOT).is_some());
    }

    #[test]
    fn a_renamed_catalog_entry_nobody_holds_is_let_go() {
        let mut t = Inodes::default();
        for s in 0..50 {
            t.child(ROOT, b"latest-dir", root_of(s));
        }
        assert_eq!(t.table.len(), 2);
    }
}
