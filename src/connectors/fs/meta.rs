//! Entry metadata on Linux, both ways: what a backup records of a path (kind, mode, owner,
//! times, hard-link identity, device numbers, extended attributes) and how a restore puts it
//! back. Nothing here follows a symlink.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Puts back extended attributes through `set` (on a path or an open file). Problems are
/// reported, not fatal: the entry itself is restored.
pub fn apply_xattrs(
    shown: &Path,
    node: &Node,
    set: impl Fn(&str, &[u8]) -> std::io::Result<()>,
    problems: &mut Vec<String>,
) {
    for x in &node.xattrs {
        let outcome = hex::decode(&x.value)
            .map_err(|_| "damaged in the snapshot".to_string())
            .and_then(|v| set(&x.name, &v).map_err(|e| e.to_string()));
        if let Err(why) = outcome {
            problems.push(format!(
                "{}: extended attribute {} not restored: {why}",
                shown.display(),
                x.name
            ));
        }
    }
}

pub fn apply_file_meta(file: &File, node: &Node, owner: bool) -> std::io::Result<()> {
    // Trims a longer file left behind at the target (restore --force), and gives a sparse
    // file its length when it ends in a hole.
    file.set_len(node.size)?;
    if owner {
        std::os::unix::fs::fchown(file, Some(node.uid), Some(node.gid))?;
    }
    file.set_permissions(fs::Permissions::from_mode(node.mode))?;
    let t = time_of(node.mtime);
    file.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))?;
    Ok(())
}

pub fn restore_symlink(path: &Path, node: &Node, owner: bool) -> Result<()> {
    remove_non_dir(path)?;
    std::os::unix::fs::symlink(OsStr::from_bytes(&node.target_bytes()), path)?;
    if owner {
        std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid))?;
    }
    set_link_times(path, node)
}

/// FIFOs are made by anyone; device nodes need root, and say so.
pub fn restore_special(path: &Path, node: &Node, owner: bool) -> Result<()> {
    let kind = match node.kind {
        NodeKind::Fifo => libc::S_IFIFO,
        NodeKind::Chardev => libc::S_IFCHR,
        NodeKind::Blockdev => libc::S_IFBLK,
        _ => return Err(anyhow!("not a special file")),
    };
    if kind != libc::S_IFIFO && !owner {
        return Err(anyhow!(
            "device node not restored: creating device nodes needs root"
        ));
    }
    remove_non_dir(path)?;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `c` is a valid NUL-terminated path; mknod does not keep the pointer.
    let rc = unsafe {
        libc::mknod(
            c.as_ptr(),
            kind | (node.mode & 0o7777),
            node.rdev as libc::dev_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if owner {
        std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(node.mode))?;
    set_link_times(path, node)
}

/// A second name for a file already restored at `first`.
pub fn restore_hard_link(first: &Path, path: &Path) -> Result<()> {
    remove_non_dir(path)?;
    fs::hard_link(first, path)?;
    Ok(())
}

fn remove_non_dir(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.is_dir() => fs::remove_file(path),
        _ => Ok(()),
    }
}

fn set_link_times(path: &Path, node: &Node) -> Result<()> {
    let t = filetime::FileTime::from_system_time(time_of(node.mtime));
    filetime::set_symlink_file_times(path, t, t)?;
    Ok(())
}

pub fn apply_dir_meta(path: &Path, node: &Node, owner: bool) -> Result<()> {
    if owner {
        std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(node.mode))?;
    let t = filetime::FileTime::from_system_time(time_of(node.mtime));
    filetime::set_file_times(path, t, t)?;
    Ok(())
}

fn time_of(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}
