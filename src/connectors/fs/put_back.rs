//! How a restore puts an entry's metadata back: always through a descriptor that was checked
//! to be the entry restored, or relative to its parent's descriptor without following a link,
//! never through a path that could be re-resolved elsewhere.
//!
//! The order for a file or directory: ownership, extended attributes, mode, times. Changing
//! the owner clears setuid/setgid bits and `security.capability`, so both come after it;
//! `user.` attributes need write permission, so they go on before a read-only mode; times
//! come last, after everything that could move them.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{anyhow, Result};
use rustix::fs::{
    chownat, fchmod, fchown, fsetxattr, ftruncate, futimens, linkat, mknodat, openat, statat,
    symlinkat, unlinkat, utimensat, AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps,
    Uid, XattrFlags, CWD,
};

use crate::repo::tree::{Node, NodeKind};

/// A complete, verified file's metadata, on its open descriptor, before it takes its name.
/// Attributes that cannot be set go to `problems`: the file itself is restored.
pub fn file_meta(
    file: &File,
    node: &Node,
    owner: bool,
    shown: &Path,
    problems: &mut Vec<String>,
) -> io::Result<()> {
    // Gives a sparse file its length when it ends in a hole, and trims one that is longer;
    // most files are already as long as they should be.
    if file.metadata()?.len() != node.size {
        ftruncate(file, node.size)?;
    }
    fd_meta(file, node, owner, shown, problems)
}

/// A directory's metadata, on its open descriptor.
pub fn dir_meta(
    dir: &OwnedFd,
    node: &Node,
    owner: bool,
    shown: &Path,
    problems: &mut Vec<String>,
) -> io::Result<()> {
    fd_meta(dir, node, owner, shown, problems)
}

fn fd_meta(
    fd: impl AsFd,
    node: &Node,
    owner: bool,
    shown: &Path,
    problems: &mut Vec<String>,
) -> io::Result<()> {
    let fd = fd.as_fd();
    if owner {
        fchown(fd, Some(uid(node)), Some(gid(node)))?;
    }
    apply_xattrs(
        shown,
        node,
        |name, value| Ok(fsetxattr(fd, name, value, XattrFlags::empty())?),
        problems,
    );
    fchmod(fd, mode(node))?;
    futimens(fd, &timestamps(node))?;
    Ok(())
}

/// Puts back extended attributes through `set`. Problems are reported, not fatal.
pub fn apply_xattrs(
    shown: &Path,
    node: &Node,
    set: impl Fn(&str, &[u8]) -> io::Result<()>,
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

/// A symlink named `name` in `parent`, replacing a non-directory there.
pub fn restore_symlink(parent: &OwnedFd, name: &[u8], node: &Node, owner: bool) -> Result<()> {
    remove_non_dir(parent, name)?;
    symlinkat(OsStr::from_bytes(&node.target_bytes()), parent, name)?;
    if owner {
        let link = open_made(parent, name, FileType::Symlink)?;
        chownat(
            &link,
            "",
            Some(uid(node)),
            Some(gid(node)),
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
        )?;
    }
    // A link has no descriptor of its own to set times through; this names it without
    // following it.
    utimensat(parent, name, &timestamps(node), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// FIFOs are made by anyone; device nodes need root, and say so.
pub fn restore_special(parent: &OwnedFd, name: &[u8], node: &Node, owner: bool) -> Result<()> {
    let kind = match node.kind {
        NodeKind::Fifo => FileType::Fifo,
        NodeKind::Chardev => FileType::CharacterDevice,
        NodeKind::Blockdev => FileType::BlockDevice,
        _ => return Err(anyhow!("not a special file")),
    };
    if kind != FileType::Fifo && !owner {
        return Err(anyhow!(
            "device node not restored: creating device nodes needs root"
        ));
    }
    remove_non_dir(parent, name)?;
    mknodat(parent, name, kind, Mode::from_raw_mode(0o600), node.rdev)?;
    // Opening a device could act on it (a tape rewinds): an O_PATH descriptor only names it,
    // and the kernel's own link to it under /proc sets what needs a real descriptor.
    let made = open_made(parent, name, kind)?;
    if owner {
        chownat(
            &made,
            "",
            Some(uid(node)),
            Some(gid(node)),
            AtFlags::EMPTY_PATH,
        )?;
    }
    let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&made));
    let through_proc = |e: rustix::io::Errno| {
        anyhow!("mode and times not set ({e}): they are set through /proc, which must be mounted")
    };
    rustix::fs::chmod(proc.as_str(), mode(node)).map_err(through_proc)?;
    utimensat(CWD, proc.as_str(), &timestamps(node), AtFlags::empty()).map_err(through_proc)?;
    Ok(())
}

/// A second name, `name` in `parent`, for the file restored as `first_name` in `first`.
pub fn restore_hard_link(
    first: &OwnedFd,
    first_name: &[u8],
    parent: &OwnedFd,
    name: &[u8],
) -> Result<()> {
    remove_non_dir(parent, name)?;
    linkat(first, first_name, parent, name, AtFlags::empty())?;
    Ok(())
}

/// What this restore just made at `name`, as an O_PATH descriptor, checked to be of `kind`,
/// this user's and to have no other name: if another user swapped something in, it is not
/// touched.
fn open_made(parent: &OwnedFd, name: &[u8], kind: FileType) -> Result<OwnedFd> {
    let fd = openat(
        parent,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if FileType::from_raw_mode(meta.mode()) != kind
        || meta.nlink() != 1
        || !super::temp_file::made_by_this_user(&meta)
    {
        return Err(anyhow!(
            "replaced by something else while it was being restored: left alone"
        ));
    }
    Ok(file.into())
}

/// Clears the way for a new entry (restore --force): a directory stays, as it may hold
/// restored entries.
fn remove_non_dir(parent: &OwnedFd, name: &[u8]) -> io::Result<()> {
    match statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => {
            Ok(unlinkat(parent, name, AtFlags::empty())?)
        }
        _ => Ok(()),
    }
}

fn uid(node: &Node) -> Uid {
    Uid::from_raw(node.uid)
}

fn gid(node: &Node) -> Gid {
    Gid::from_raw(node.gid)
}

fn mode(node: &Node) -> Mode {
    Mode::from_raw_mode(node.mode & 0o7777)
}

/// The snapshot's mtime, as both access and modification time.
pub fn timestamps(node: &Node) -> Timestamps {
    let t = timespec(node.mtime);
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

fn timespec(ns: i64) -> Timespec {
    Timespec {
        tv_sec: ns.div_euclid(1_000_000_000),
        tv_nsec: ns.rem_euclid(1_000_000_000) as _,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_1970_keep_their_nanoseconds_positive() {
        let t = timespec(-1);
        assert_eq!((t.tv_sec, t.tv_nsec), (-1, 999_999_999));
        let t = timespec(1_500_000_000_123);
        assert_eq!((t.tv_sec, t.tv_nsec), (1_500, 123));
        assert_eq!(timespec(0).tv_sec, 0);
    }

    #[test]
    fn the_mode_keeps_setuid_setgid_and_sticky_bits_only() {
        let mut node = Node::new("f".into(), NodeKind::File);
        node.mode = 0o107755;
        assert_eq!(mode(&node).bits(), 0o7755);
    }
}
