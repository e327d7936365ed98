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
