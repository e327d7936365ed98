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
    /// The version this entry is, when the bucket keeps versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The key's newest entry is a delete marker: the key does not exist now (the node has no
    /// content; its history is in `versions`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete_marker: bool,
    /// With `versions=all`: every version and delete marker of the key, oldest first, the
    /// newest being this node itself. Their blobs are the snapshot's like `content`
    /// (`Node::blobs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<S3Version>,
    /// The object's ACL (owner and grants); None: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<S3Acl>,
    /// Object Lock retention mode (GOVERNANCE or COMPLIANCE) and until-date (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<(String, String)>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub legal_hold: bool,
    /// `x-amz-checksum-<algorithm>` values as the server reported them (algorithm lowercase).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
}

/// One entry of a key's history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct S3Version {
    pub version_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete_marker: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<Id>,
    /// The version's metadata (its own `versions` empty); None for a delete marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<S3Meta>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Acl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub grants: Vec<S3Grant>,
}

/// A grantee is a canonical user id, a group URI or an e-mail address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Grant {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub kind: String,
    pub grantee: String,
    pub permission: String,
}

fn is_false(b: &bool) -> bool {
    !*b
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

    /// Every blob this node needs: its content and, for an S3 key with a history, the content
    /// of each version. Whatever keeps or copies a snapshot's data goes through this.
    pub fn blobs(&self) -> impl Iterator<Item = &Id> {
        let versions = self.s3.iter().flat_map(|m| &m.versions);
        self.content.iter().chain(versions.flat_map(|v| &v.content))
    }

    /// The node as it stood at `time` (RFC 3339 comparisons by instant): the newest version
    /// not after it, None if that is a delete marker or the key did not exist yet. A node
    /// without a history stands for itself when its Last-Modified is not after `time`.
    pub fn as_of(&self, time: chrono::DateTime<chrono::Utc>) -> Option<Node> {
        let meta = self.s3.as_ref()?;
        let not_after = |lm: &Option<String>| {
            lm.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t <= time)
        };
        if meta.versions.is_empty() {
            return (not_after(&meta.last_modified) && !meta.delete_marker).then(|| self.clone());
        }
        let v = meta
            .versions
            .iter()
            .rev()
            .find(|v| not_after(&v.last_modified))?;
        (!v.delete_marker).then(|| self.version_node(v))
    }

    /// The node of one version of this key: its content, size and metadata, no history.
    pub fn version_node(&self, v: &S3Version) -> Node {
        // Not `clone`: that would copy the whole history once per version.
        let mut node = Node {
            name: self.name.clone(),
            name_raw: self.name_raw.clone(),
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            ..Node::new(String::new(), self.kind)
        };
        node.size = v.size;
        node.content = v.content.clone();
        let mut meta = v.meta.clone().unwrap_or_else(|| {
            Box::new(S3Meta {
                key: self.s3.as_ref().map(|m| m.key.clone()).unwrap_or_default(),
                ..S3Meta::default()
            })
        });
        meta.versions.clear();
        meta.version_id = Some(v.version_id.clone());
        meta.last_modified = v.last_modified.clone();
        meta.delete_marker = v.delete_marker;
        node.mtime = mtime_of(meta.last_modified.as_deref());
        node.s3 = Some(meta);
        node
    }

    /// An S3 key recorded with its versions.
    pub fn has_history(&self) -> bool {
        self.s3.as_ref().is_some_and(|m| !m.versions.is_empty())
    }

    /// True when the key's newest entry is a delete marker: not part of the current state.
    pub fn is_deleted(&self) -> bool {
        self.s3.as_ref().is_some_and(|m| m.delete_marker)
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

/// Nanoseconds since the epoch of an RFC 3339 time; 0 when there is none.
pub fn mtime_of(last_modified: Option<&str>) -> i64 {
    last_modified
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, at: &str, marker: bool, blob: u8) -> S3Version {
        S3Version {
            version_id: id.into(),
            last_modified: Some(at.into()),
            delete_marker: marker,
            size: if marker { 0 } else { 1 },
            content: if marker { vec![] } else { vec![Id([blob; 32])] },
            meta: (!marker).then(|| {
                Box::new(S3Meta {
                    key: "k".into(),
                    content_type: Some(format!("type/{id}")),
                    ..S3Meta::default()
                })
            }),
        }
    }

    #[test]
    fn a_history_gives_every_blob_and_the_state_at_any_time() {
        let history = vec![
            version("v1", "2026-01-01T00:00:00Z", false, 1),
            version("v2", "2026-01-02T00:00:00.5Z", false, 2),
            version("d3", "2026-01-03T00:00:00Z", true, 0),
            version("v4", "2026-01-04T00:00:00Z", false, 4),
        ];
        let mut node = Node::new("k".into(), NodeKind::File);
        node.content = vec![Id([4; 32])];
        node.s3 = Some(Box::new(S3Meta {
            key: "k".into(),
            versions: history,
            ..S3Meta::default()
        }));
        let blobs: Vec<u8> = node.blobs().map(|b| b.0[0]).collect();
        assert_eq!(blobs, [4, 1, 2, 4]);
        let at = |t: &str| {
            node.as_of(t.parse().unwrap())
                .map(|n| n.s3.unwrap().version_id.unwrap())
        };
        assert_eq!(at("2025-12-31T00:00:00Z"), None);
        assert_eq!(at("2026-01-01T00:00:00Z").as_deref(), Some("v1"));
        assert_eq!(at("2026-01-02T00:00:00.4Z").as_deref(), Some("v1"));
        assert_eq!(at("2026-01-02T00:00:00.5Z").as_deref(), Some("v2"));
        assert_eq!(at("2026-01-03T12:00:00Z"), None);
        assert_eq!(at("2030-01-01T00:00:00Z").as_deref(), Some("v4"));
        let v2 = node.as_of("2026-01-02T01:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(v2.content, [Id([2; 32])]);
        assert_eq!(v2.s3.unwrap().content_type.as_deref(), Some("type/v2"));
    }

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
