//! `kloset mount DIR`: the store as a read-only FUSE file system, restic's layout (see
//! `catalog`). Trees are loaded as directories are opened, file content is read through
//! `Contents` (the one reader, a bounded cache), and the snapshot list is looked at again
//! on access once older than the refresh period, so new backups appear without remounting.

mod attrs;
pub mod inodes;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use fuser::{
    Errno, FileHandle, FopenFlags, Generation, INodeNo, LockOwner, MountOption, OpenFlags,
    ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};

use self::inodes::{Inodes, What};
use super::contents::{Contents, Layout};
use super::listing::DirList;
use super::live::Live;
use crate::repo::tree::NodeKind;

/// What the kernel may keep of attributes and names: snapshots never change, the catalog
/// does, so its folders are asked again after this.
const TTL: Duration = Duration::from_secs(1);

pub struct MountFs {
    runtime: tokio::runtime::Handle,
    live: Arc<Live>,
    contents: Arc<Contents>,
    inodes: Mutex<Inodes>,
    open: Mutex<HashMap<u64, Arc<Layout>>>,
    next_handle: AtomicU64,
    owner: (u32, u32),
}

/// Mounts at `dir` and serves until it is unmounted (`umount DIR`) or `stop` says so; then
/// unmounts.
pub fn serve(
    runtime: tokio::runtime::Handle,
    live: Arc<Live>,
    contents: Arc<Contents>,
    dir: &Path,
    stop: &dyn Fn() -> bool,
    mounted: &dyn Fn(),
) -> Result<()> {
    let fs = MountFs {
        runtime,
        live,
        contents,
        inodes: Mutex::new(Inodes::default()),
        open: Mutex::new(HashMap::new()),
        next_handle: AtomicU64::new(1),
        // SAFETY: getuid and getgid cannot fail.
        owner: unsafe { (libc::getuid(), libc::getgid()) },
    };
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::FSName("kloset".into()),
        MountOption::Subtype("kloset".into()),
        MountOption::DefaultPermissions,
    ];
    config.n_threads = Some(4);
    let session = fuser::spawn_mount(fs, dir, &config).map_err(|e| {
        crate::error::KlosetError::Usage(format!(
            "cannot mount at {}: {e}: is /dev/fuse there and fusermount3 installed (Debian: apt install fuse3)?",
            dir.display()
        ))
    })?;
    mounted();
    while !session.guard.is_finished() {
        if stop() {
            if let Err(e) = unmount(dir, false) {
                if e.raw_os_error() != Some(libc::EBUSY) {
                    return Err(e.into());
                }
                // Still in use (a shell in it, an open file): detached now, it disappears
                // from the tree and what had it open sees errors, rather than a dead mount
                // staying behind after kloset ends.
                eprintln!(
                    "kloset: {} was in use: detached it; what had it open can no longer read it",
                    dir.display()
                );
                unmount(dir, true)?;
                return Ok(());
            }
            // The session ends once the kernel has let go; not waited for forever.
            for _ in 0..50 {
                if session.guard.is_finished() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    session.join()?;
    Ok(())
}

/// Unmounts `dir`, which fails with EBUSY while it is in use: as root directly, else through
/// fuse3's setuid helper, as the mount was made.
fn unmount(dir: &Path, lazily: bool) -> std::io::Result<()> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(std::io::Error::other)?;
        let flags = if lazily { libc::MNT_DETACH } else { 0 };
        // SAFETY: a valid NUL-terminated path and known flags.
        if unsafe { libc::umount2(path.as_ptr(), flags) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        return Ok(());
    }
    let out = std::process::Command::new("fusermount3")
        .env("LC_ALL", "C")
        .arg(if lazily { "-uz" } else { "-u" })
        .arg(dir)
        .output()?;
    if out.status.success() {
        return Ok(());
    }
    // fusermount3 says why only in words: any failure to unmount is taken for "busy", so
    // that the caller detaches rather than leaving a dead mount.
    let said = String::from_utf8_lossy(&out.stderr);
    match lazily {
        false => Err(std::io::Error::from_raw_os_error(libc::EBUSY)),
        true => Err(std::io::Error::other(said.trim().to_string())),
    }
}

impl MountFs {
    fn what(&self, ino: u64) -> Option<What> {
        self.inodes.lock().ok()?.get(ino).map(|i| i.what.clone())
    }

    /// A directory of a snapshot as its tree has it, loaded once, with its root's inode.
    fn dir_list(&self, ino: u64, what: &What) -> Result<(Arc<DirList>, u64), Errno> {
        let root = what.root(ino).ok_or(Errno::ENOTDIR)?;
        let known = {
            let inodes = self.inodes.lock().map_err(|_| Errno::EIO)?;
            inodes.get(ino).and_then(|i| i.children.clone())
        };
        if let Some(known) = known {
            return Ok((known, root));
        }
        let tree_id = what.tree().ok_or(Errno::ENOTDIR)?;
        let tree = self
            .runtime
            .block_on(async { self.live.view().await.repo.load_tree(&tree_id).await })
            .map_err(|_| Errno::EIO)?;
        let list = Arc::new(DirList::new(tree.nodes));
        let mut inodes = self.inodes.lock().map_err(|_| Errno::EIO)?;
        inodes.set_children(ino, list.clone());
        Ok((list, root))
    }

    /// What `name` in directory `parent` is, numbered and counted as looked up, with its
    /// attributes: in one hold of the table, so that a forget of the same number coming in
    /// between cannot let it go under the kernel's new reference.
    fn find(&self, parent: u64, name: &[u8]) -> Result<fuser::FileAttr, Errno> {
        let what = self.what(parent).ok_or(Errno::ENOENT)?;
        let child = if let What::Folder(path) = &what {
            let view = self.runtime.block_on(self.live.view());
            let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
            let child = view.catalog.lookup(path, name).ok_or(Errno::ENOENT)?;
            attrs::catalog_child(child, &view.snapshots)
        } else {
            let (list, root) = self.dir_list(parent, &what)?;
            let node = list.get(name).ok_or(Errno::ENOENT)?.clone();
            What::Entry {
                node: Box::new(node),
                root,
            }
        };
        let mut inodes = self.inodes.lock().map_err(|_| Errno::EIO)?;
        let ino = inodes.child(parent, name, child);
        let attr = inodes
            .get(ino)
            .map(|i| attrs::of(ino, &i.what, self.owner))
            .ok_or(Errno::ENOENT)?;
        inodes.looked_up(ino);
        Ok(attr)
    }

    /// A directory's entries from the `skip`th on, numbered, until `add` says it is full.
    fn list(
        &self,
        ino: u64,
        skip: usize,
        mut add: impl FnMut(u64, fuser::FileType, &[u8]) -> bool,
    ) -> Result<(), Errno> {
        let what = self.what(ino).ok_or(Errno::ENOENT)?;
        if let What::Folder(path) = &what {
            let view = self.runtime.block_on(self.live.view());
            let folder = view.catalog.folder(path).ok_or(Errno::ENOENT)?;
            let mut inodes = self.inodes.lock().map_err(|_| Errno::EIO)?;
            for (name, child) in folder.iter().skip(skip) {
                let what = attrs::catalog_child(child, &view.snapshots);
                let kind = attrs::kind(&what);
                if add(
                    inodes.child(ino, name.as_bytes(), what),
                    kind,
                    name.as_bytes(),
                ) {
                    break;
                }
            }
            return Ok(());
        }
        let (list, root) = self.dir_list(ino, &what)?;
        let mut inodes = self.inodes.lock().map_err(|_| Errno::EIO)?;
        for (name, node) in list.entries().iter().skip(skip) {
            let what = What::Entry {
                node: Box::new(node.clone()),
                root,
            };
            let kind = attrs::kind(&what);
            if add(inodes.child(ino, name, what), kind, name) {
                break;
            }
        }
        Ok(())
    }

    fn attr(&self, ino: u64) -> Option<fuser::FileAttr> {
        let what = self.what(ino)?;
        Some(attrs::of(ino, &what, self.owner))
    }
}

impl fuser::Filesystem for MountFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.find(parent.0, name.as_bytes()) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if let Ok(mut inodes) = self.inodes.lock() {
            inodes.forget(ino.0, nlookup);
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.what(ino.0) {
            Some(What::Link(target)) => reply.data(target.as_bytes()),
            Some(What::Entry { node, .. }) if node.kind == NodeKind::Symlink => {
                reply.data(&node.target_bytes())
            }
            _ => reply.error(Errno::EINVAL),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        let node = match self.what(ino.0) {
            Some(What::Entry { node, .. }) if node.kind == NodeKind::File => node,
            Some(_) => return reply.error(Errno::EISDIR),
            None => return reply.error(Errno::ENOENT),
        };
        let view = self.runtime.block_on(self.live.view());
        match Layout::of(&view.repo, &node) {
            Ok(layout) => {
                let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut open) = self.open.lock() {
                    open.insert(fh, Arc::new(layout));
                }
                // Content never changes: the kernel may keep what it read across opens.
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE)
            }
            Err(_) => reply.error(Errno::EIO),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let layout = self.open.lock().ok().and_then(|o| o.get(&fh.0).cloned());
        let Some(layout) = layout else {
            return reply.error(Errno::EBADF);
        };
        let read = self.runtime.block_on(async {
            let view = self.live.view().await;
            self.contents
                .read(&view.repo, &layout, offset, u64::from(size))
                .await
        });
        match read {
            Ok(data) => reply.data(&data),
            Err(_) => reply.error(Errno::EIO),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: fuser::ReplyEmpty,
    ) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&fh.0);
        }
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        // Offsets count `.` and `..` first; each entry's is the one after it.
        let mut next = offset;
        for dot in [&b"."[..], b".."].iter().skip(offset as usize) {
            next += 1;
            if reply.add(
                ino,
                next,
                fuser::FileType::Directory,
                OsStr::from_bytes(dot),
            ) {
                return reply.ok();
            }
        }
        let skip = offset.saturating_sub(2) as usize;
        let listed = self.list(ino.0, skip, |child, kind, name| {
            next += 1;
            reply.add(INodeNo(child), next, kind, OsStr::from_bytes(name))
        });
        match listed {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let value = match self.what(ino.0) {
            Some(What::Entry { node, .. }) => {
                super::xattrs::get(&node, &String::from_utf8_lossy(name.as_bytes()))
            }
            _ => None,
        };
        match value {
            None => reply.error(Errno::ENODATA),
            Some(v) => xattr_reply(v, size, reply),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let list = match self.what(ino.0) {
            Some(What::Entry { node, .. }) => super::xattrs::name_list(&node),
            _ => Vec::new(),
        };
        xattr_reply(list, size, reply)
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(0, 0, 0, 0, 0, 4096, 255, 4096);
    }
}

/// `size` 0 asks how large the value is; a buffer too small is ERANGE.
fn xattr_reply(value: Vec<u8>, size: u32, reply: ReplyXattr) {
    if size == 0 {
        reply.size(value.len() as u32);
    } else if value.len() > size as usize {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(&value);
    }
}
