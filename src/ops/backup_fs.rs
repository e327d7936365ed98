//! Backing up a filesystem tree: walk it, reuse unchanged files from the parent snapshot
//! without reading them, chunk the rest, and write one tree blob per directory.
//!
//! Directories and files are processed with rayon, so chunking, hashing, compression and
//! encryption run on every core while the uploader keeps packs in flight.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::{anyhow, Result};
use rayon::prelude::*;

use super::saver::{BlobSaver, WalkStats};
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind, Tree};
use crate::repo::Repo;

thread_local! {
    /// One read buffer per worker, reused across files (at most READ_WHOLE_MAX each).
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keeps small buffers for reuse but gives large ones back: with several workers blocked on a
/// slow store, idle multi-MiB buffers would otherwise dominate memory.
pub fn release_if_large(buf: &mut Vec<u8>) {
    if buf.capacity() > KEEP_BUFFER {
        *buf = Vec::new();
    }
}

const KEEP_BUFFER: usize = 2 * 1024 * 1024;

/// Files up to this size are read whole; larger ones are streamed through the chunker.
const READ_WHOLE_MAX: u64 = 16 * 1024 * 1024;

pub struct FsArchiver<'a> {
    pub repo: Arc<Repo>,
    pub saver: Arc<BlobSaver>,
    pub rt: tokio::runtime::Handle,
    pub progress: Progress,
    pub stats: WalkStats,
    pub errors: Mutex<Vec<String>>,
    pub interrupted: &'a AtomicBool,
    pub big_files: Slots,
}

/// A counting semaphore for blocking threads.
pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

pub struct Slot<'s>(&'s Slots);

impl Slots {
    pub fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().expect("slots");
        while *free == 0 {
            free = self.freed.wait(free).expect("slots");
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().expect("slots") += 1;
        self.0.freed.notify_one();
    }
}

impl FsArchiver<'_> {
    /// Archives `root` and returns the id of the snapshot's root tree.
    pub fn run(&self, root: &Path, parent_root: Option<Id>) -> Result<Id> {
        let parent = parent_root.and_then(|id| self.load_parent_tree(&id));
        let meta = fs::symlink_metadata(root)
            .map_err(|e| anyhow!("cannot read source {}: {e}", root.display()))?;
        if meta.is_dir() {
            self.archive_dir(root, parent.as_ref())
        } else {
            // A single file or link: the snapshot root holds just that entry.
            let name = root
                .file_name()
                .ok_or_else(|| anyhow!("source {} has no file name", root.display()))?
                .to_os_string();
            let prev = parent.as_ref().and_then(|t| find_node(t, &name));
            let node = self.archive_entry(root, name, prev)?;
            let tree = Tree {
                nodes: node.into_iter().collect(),
            };
            self.saver.save_tree(&tree)
        }
    }

    fn archive_dir(&self, dir: &Path, parent: Option<&Tree>) -> Result<Id> {
        let mut names: Vec<OsString> = Vec::new();
        match fs::read_dir(dir) {
            Ok(rd) => {
                for entry in rd {
                    match entry {
                        Ok(e) => names.push(e.file_name()),
                        Err(e) => self.report(dir, &e.to_string()),
                    }
                }
            }
            Err(e) => self.report(dir, &e.to_string()),
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let previous: HashMap<&[u8], &Node> = parent
            .map(|t| t.nodes.iter().map(|n| (n.name.as_bytes(), n)).collect())
            .unwrap_or_default();
        let nodes: Vec<Result<Option<Node>>> = names
            .into_par_iter()
            .map(|name| {
                let prev = previous.get(name_key(&name).as_slice()).copied();
                self.archive_entry(&dir.join(&name), name, prev)
            })
            .collect();
        let mut tree = Tree::default();
        for n in nodes {
            if let Some(node) = n? {
                tree.nodes.push(node);
            }
        }
        self.saver.save_tree(&tree)
    }

    /// Ok(None): the entry could not be read (already reported) or is a kind kloset skips.
    fn archive_entry(
        &self,
        path: &Path,
        name: OsString,
        prev: Option<&Node>,
    ) -> Result<Option<Node>> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(KlosetError::Interrupted.into());
        }
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.report(path, &e.to_string());
                return Ok(None);
            }
        };
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            NodeKind::Dir
        } else if ft.is_file() {
            NodeKind::File
        } else if ft.is_symlink() {
            NodeKind::Symlink
        } else {
            self.progress.warn(&format!(
                "skipped {}: sockets, fifos and device files are not backed up",
                path.display()
            ));
            return Ok(None);
        };
        let mut node = node_from_meta(name, kind, &meta);
        match kind {
            NodeKind::Dir => {
                self.stats.dirs.fetch_add(1, Ordering::Relaxed);
                let parent = prev
                    .filter(|p| p.kind == NodeKind::Dir)
                    .and_then(|p| p.subtree)
                    .and_then(|id| self.load_parent_tree(&id));
                node.subtree = Some(self.archive_dir(path, parent.as_ref())?);
            }
            NodeKind::Symlink => {
                self.stats.symlinks.fetch_add(1, Ordering::Relaxed);
                match fs::read_link(path) {
                    Ok(t) => set_target(&mut node, t),
                    Err(e) => {
                        self.report(path, &e.to_string());
                        return Ok(None);
                    }
                }
            }
            NodeKind::File => {
                if let Some(content) = self.unchanged_content(&node, prev) {
                    node.content = content;
                } else {
                    match self.read_file(path, &meta) {
                        Ok((content, size)) => {
                            node.content = content;
                            node.size = size;
                        }
                        Err(e) => {
                            self.report(path, &e.to_string());
                            return Ok(None);
                        }
                    }
                    self.stats.files_read.fetch_add(1, Ordering::Relaxed);
                }
                self.stats.files.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes.fetch_add(node.size, Ordering::Relaxed);
                let files = self.stats.files.load(Ordering::Relaxed);
                if files % 64 == 0 {
                    self.progress.set_message(format!("{files} files"));
                }
            }
        }
        Ok(Some(node))
    }

    /// The parent's content ids when size, mtime, ctime and inode all match and every blob is
    /// still in the store.
    fn unchanged_content(&self, node: &Node, prev: Option<&Node>) -> Option<Vec<Id>> {
        let p = prev?;
        let same = p.kind == NodeKind::File
            && p.size == node.size
            && p.mtime == node.mtime
            && p.ctime == node.ctime
            && p.inode == node.inode;
        if !same || !p.content.iter().all(|id| self.saver.is_known(id)) {
            return None;
        }
        self.progress.add_bytes(node.size);
        Some(p.content.clone())
    }

    fn read_file(&self, path: &Path, meta: &Metadata) -> Result<(Vec<Id>, u64)> {
        // Small files get every worker (their cost is waiting for the disk); large ones hold
        // several MiB of buffers each, so only one per core works on them at a time.
        let _slot = (meta.len() > KEEP_BUFFER as u64).then(|| self.big_files.acquire());
        let mut file = File::open(path)?;
        let on_chunk = |n: u64| self.progress.add_bytes(n);
        if meta.len() <= READ_WHOLE_MAX {
            READ_BUF.with(|b| {
                let buf = &mut *b.borrow_mut();
                buf.clear();
                file.read_to_end(buf)?;
                let ids = self.saver.save_chunked(buf, &on_chunk);
                let len = buf.len() as u64;
                release_if_large(buf);
                Ok((ids?, len))
            })
        } else {
            self.saver.save_chunked_reader(file, &on_chunk)
        }
    }

    fn load_parent_tree(&self, id: &Id) -> Option<Tree> {
        // A parent tree that cannot be read only costs re-reading files, never correctness.
        self.rt.block_on(self.repo.load_tree(id)).ok()
    }

    fn report(&self, path: &Path, err: &str) {
        let line = format!("error: {}: {err}", path.display());
        self.progress.warn(&line);
        self.errors.lock().expect("errors").push(line);
    }
}

fn name_key(name: &OsString) -> Vec<u8> {
    match name.to_str() {
        Some(s) => s.as_bytes().to_vec(),
        None => String::from_utf8_lossy(name.as_bytes())
            .into_owned()
            .into_bytes(),
    }
}

fn find_node<'t>(tree: &'t Tree, name: &OsString) -> Option<&'t Node> {
    let key = name_key(name);
    tree.nodes
        .iter()
        .find(|n| n.name.as_bytes() == key.as_slice())
}

pub fn node_from_meta(name: OsString, kind: NodeKind, meta: &Metadata) -> Node {
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
