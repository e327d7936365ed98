//! Trees: a directory is a blob listing its entries. Serialised as JSON (then zstd and
//! encryption by the blob layer) so fields can be added without breaking old snapshots.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::id::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
    Fifo,
    /// Character device node (`rdev` says which).
    Chardev,
    /// Block device node.
    Blockdev,
}

impl NodeKind {
    /// FIFOs and device nodes: no content, recreated rather than written.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            NodeKind::Fifo | NodeKind::Chardev | NodeKind::Blockdev
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// The page blobs this tree was read from, when its directory was too large for one tree
    /// blob (empty otherwise): they are blobs the snapshot needs like the tree's own.
    #[serde(skip)]
    pub pages: Vec<Id>,
}

impl Tree {
    pub fn new(nodes: Vec<Node>) -> Tree {
        Tree {
            nodes,
            pages: Vec::new(),
        }
    }
}

/// The tree blob of a directory too large for one: its entries are in `pages`, each a plain
/// tree blob, in order. It has no `nodes`, so a kloset that predates pages refuses it ("missing
/// field `nodes`") instead of seeing an empty directory. FORMAT.md, "Paged trees".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeHead {
    pub pages: Vec<Id>,
    /// Entries across all pages: a reader checks the pages add up to it.
    pub entries: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    /// Hex of the raw name when it is not valid UTF-8 (`name` then holds a lossy form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_raw: Option<String>,
    pub kind: NodeKind,
    #[serde(default)]
    pub mode: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    /// Nanoseconds since the Unix epoch.
    #[serde(default)]
    pub mtime: i64,
    #[serde(default)]
    pub ctime: i64,
    #[serde(default)]
    pub inode: u64,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_raw: Option<String>,
    /// Hard links: entries of a snapshot with `links > 1` and the same `device` and `inode`
    /// are one file.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub links: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub device: u64,
    /// The device a device node stands for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rdev: u64,
    /// Extended attributes (POSIX ACLs among them), in the order listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xattrs: Vec<Xattr>,
    /// Present for entries that came from an S3 source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<Box<S3Meta>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Xattr {
    pub name: String,
    /// Hex of the raw value.
    pub value: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What S3 keeps about an object beside its bytes. `None` in an optional field means the
/// server did not report it; an empty map means it reported none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct S3Meta {
    /// The exact object key relative to the source prefix.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default)]
    pub user_metadata: BTreeMap<String, String>,
    /// None: tags could not be read from this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

impl Node {
    pub fn new(name: String, kind: NodeKind) -> Node {
        Node {
            name,
            name_raw: None,
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            ctime: 0,
            inode: 0,
            size: 0,
            content: Vec::new(),
            subtree: None,
            target: None,
            target_raw: None,
            links: 0,
            device: 0,
            rdev: 0,
            xattrs: Vec::new(),
            s3: None,
        }
    }

    /// The name as bytes, exactly as the source had it.
    pub fn name_bytes(&self) -> Vec<u8> {
        match &self.name_raw {
            Some(raw) => hex::decode(raw).unwrap_or_else(|_| self.name.as_bytes().to_vec()),
            None => self.name.as_bytes().to_vec(),
        }
    }

    pub fn target_bytes(&self) -> Vec<u8> {
        match (&self.target_raw, &self.target) {
            (Some(raw), _) => hex::decode(raw).unwrap_or_default(),
            (None, Some(t)) => t.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_kinds_are_fifos_and_devices() {
        for k in [NodeKind::Fifo, NodeKind::Chardev, NodeKind::Blockdev] {
            assert!(k.is_special(), "{k:?}");
        }
        for k in [NodeKind::File, NodeKind::Dir, NodeKind::Symlink] {
            assert!(!k.is_special(), "{k:?}");
        }
    }

    #[test]
    fn kinds_serialise_in_lowercase() {
        assert_eq!(
            serde_json::to_string(&NodeKind::Chardev).unwrap(),
            "\"chardev\""
        );
        assert_eq!(
            serde_json::from_str::<NodeKind>("\"symlink\"").unwrap(),
            NodeKind::Symlink
        );
        assert!(serde_json::from_str::<NodeKind>("\"File\"").is_err());
    }

    #[test]
    fn a_plain_node_serialises_without_its_empty_optional_fields() {
        let n = Node::new("a.txt".into(), NodeKind::File);
        let text = serde_json::to_string(&n).unwrap();
        for absent in [
            "name_raw", "content", "subtree", "target", "links", "device", "rdev", "xattrs",
            "\"s3\"",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        assert_eq!(serde_json::from_str::<Node>(&text).unwrap(), n);
    }

    #[test]
    fn a_full_tree_round_trips() {
        let mut file = Node::new("f".into(), NodeKind::File);
        file.content = vec![Id([1u8; 32]), Id([2u8; 32])];
        file.links = 2;
        file.device = 5;
        file.inode = 77;
        file.mtime = -1_000_000_001;
        file.xattrs = vec![Xattr {
            name: "user.k".into(),
            value: hex::encode(b"v"),
        }];
        let mut dir = Node::new("d".into(), NodeKind::Dir);
        dir.subtree = Some(Id([3u8; 32]));
        let mut obj = Node::new("o".into(), NodeKind::File);
        obj.s3 = Some(Box::new(S3Meta {
            key: "p/o".into(),
            etag: Some("\"e\"".into()),
            tags: Some(BTreeMap::new()),
            ..S3Meta::default()
        }));
        let tree = Tree::new(vec![file, dir, obj]);
        let back: Tree = serde_json::from_slice(&serde_json::to_vec(&tree).unwrap()).unwrap();
        assert_eq!(back, tree);
        // Tags read as none and tags not readable stay apart.
        let s3 = back.nodes[2].s3.as_ref().unwrap();
        assert_eq!(s3.tags, Some(BTreeMap::new()));
    }

    #[test]
    fn nodes_load_with_only_name_and_kind() {
        let n: Node = serde_json::from_str(r#"{"name":"x","kind":"dir"}"#).unwrap();
        assert_eq!(n, Node::new("x".into(), NodeKind::Dir));
    }

    #[test]
    fn name_bytes_prefer_the_raw_form() {
        let mut n = Node::new("caf\u{fffd}".into(), NodeKind::File);
        assert_eq!(n.name_bytes(), "caf\u{fffd}".as_bytes());
        n.name_raw = Some(hex::encode(b"caf\xe9"));
        assert_eq!(n.name_bytes(), b"caf\xe9");
        // A damaged raw form falls back to the readable name.
        n.name_raw = Some("zz".into());
        assert_eq!(n.name_bytes(), "caf\u{fffd}".as_bytes());
    }

    #[test]
    fn target_bytes_prefer_the_raw_form_and_default_to_empty() {
        let mut n = Node::new("l".into(), NodeKind::Symlink);
        assert!(n.target_bytes().is_empty());
        n.target = Some("../x".into());
        assert_eq!(n.target_bytes(), b"../x");
        n.target_raw = Some(hex::encode(b"\xff/y"));
        assert_eq!(n.target_bytes(), b"\xff/y");
    }
}
