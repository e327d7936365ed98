//! Entry metadata on Linux as a backup records it: kind, mode, owner, times, hard-link
//! identity, device numbers, extended attributes. Nothing here follows a symlink. How a
//! restore puts it back is `put_back`.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::repo::tree::{Node, NodeKind, Xattr};

/// Ok(None): a socket, which kloset does not back up (as restic does not restore them).
/// A regular file's extended attributes are left to `with_xattrs`: one whose metadata shows
/// it unchanged (changing an attribute moves ctime) takes its parent's without a syscall.
pub fn node_of(path: &Path, name: OsString, meta: &Metadata) -> Result<Option<Node>> {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        NodeKind::Dir
    } else if ft.is_file() {
        NodeKind::File
    } else if ft.is_symlink() {
        NodeKind::Symlink
    } else if ft.is_fifo() {
        NodeKind::Fifo
    } else if ft.is_char_device() {
        NodeKind::Chardev
    } else if ft.is_block_device() {
        NodeKind::Blockdev
    } else {
        return Ok(None);
    };
    let mut node = node_from_meta(name, kind, meta);
    if kind == NodeKind::Symlink {
        set_target(&mut node, fs::read_link(path)?);
    }
    if kind != NodeKind::File {
        node.xattrs = read_xattrs(path)?;
    }
    Ok(Some(node))
}

/// A file about to be read: its extended attributes as they are now.
pub fn with_xattrs(mut node: Node, path: &Path) -> Result<Node> {
    node.xattrs = read_xattrs(path)?;
    Ok(node)
}

fn node_from_meta(name: OsString, kind: NodeKind, meta: &Metadata) -> Node {
    let (name, name_raw) = match name.to_str() {
        Some(s) => (s.to_string(), None),
        None => (
            String::from_utf8_lossy(name.as_bytes()).into_owned(),
            Some(hex::encode(name.as_bytes())),
        ),
    };
    let mut node = Node::new(name, kind);
    node.name_raw = name_raw;
    node.mode = meta.mode() & 0o7777;
    node.uid = meta.uid();
    node.gid = meta.gid();
    node.mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
    node.ctime = meta.ctime() * 1_000_000_000 + meta.ctime_nsec();
    node.inode = meta.ino();
    if kind == NodeKind::File {
        node.size = meta.len();
    }
    if kind != NodeKind::Dir && meta.nlink() > 1 {
        node.links = meta.nlink();
        node.device = meta.dev();
    }
    if kind.is_special() {
        node.rdev = meta.rdev();
    }
    node
}

fn set_target(node: &mut Node, target: PathBuf) {
    let bytes = target.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => node.target = Some(s.to_string()),
        Err(_) => {
            node.target = Some(String::from_utf8_lossy(bytes).into_owned());
            node.target_raw = Some(hex::encode(bytes));
        }
    }
}

/// A filesystem without extended attributes has none to record.
fn read_xattrs(path: &Path) -> Result<Vec<Xattr>> {
    let names = match xattr::list(path) {
        Ok(n) => n,
        Err(e) if unsupported(&e) => return Ok(Vec::new()),
        Err(e) => return Err(anyhow!("extended attributes: {e}")),
    };
    let mut out = Vec::new();
    for name in names {
        if let Some(value) = xattr::get(path, &name)
            .map_err(|e| anyhow!("extended attribute {}: {e}", name.to_string_lossy()))?
        {
            out.push(Xattr {
                name: name.to_string_lossy().into_owned(),
                value: hex::encode(value),
            });
        }
    }
    Ok(out)
}

fn unsupported(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOTSUP)
}
