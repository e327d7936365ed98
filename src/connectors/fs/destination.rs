//! Restoring into a directory: blobs are written straight to their offsets as they arrive
//! (`file_writer` writes each file), so each pack is fetched once however many files share
//! it. Each file is written under a temporary name beside its final one and renamed into
//! place only when every blob of it has been verified and written, so a failed restore never
//! leaves a wrong file that looks finished; a file written in one go is an unnamed file
//! linked to its name (`temp_file`).
//!
//! Nothing is ever reached through a path string inside the target: the target root is held
//! open and every directory is reached from it name by name without following a link
//! (`target_dirs`), temporary files are created with O_EXCL in their open directory and renamed
//! within it, and metadata is set through descriptors (`put_back`). A link or file where the
//! snapshot has a directory is replaced by a real directory (restore --force) before anything
//! goes in it; one that takes a directory's place while the restore runs is refused with what
//! was to go below it, and the restore goes on with the rest. Directories are created
//! readable by this user only and get their metadata last, deepest first. Runs of zeros are
//! not written, so sparse files come back sparse; entries that shared an inode come back as
//! hard links.

use std::collections::hash_map::{Entry, HashMap};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use bytes::Bytes;
use rustix::fs::{mkdirat, statat, unlinkat, AtFlags, Dir, FileType, Mode};
use rustix::io::Errno;

use super::file_writer::{Job, Shared};
use super::put_back::{dir_meta, restore_hard_link, restore_special, restore_symlink};
use super::target_dirs::{split_parent, TargetDirs};
use super::temp_file;
use crate::error::KlosetError;
use crate::repo::tree::{Node, NodeKind};
use crate::restore::{ContentSink, Destination, Plan, PlannedFile, Reader, SegmentWrite};

/// The longest name (in bytes) Linux filesystems hold.
const NAME_MAX: usize = 255;

pub struct FsDestination {
    shared: Arc<Shared>,
    force: bool,
    /// Second and later names of hard-linked files, with the first name: linked at the end.
    hard_links: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl FsDestination {
    pub fn new(target: PathBuf, force: bool) -> FsDestination {
        FsDestination {
            shared: Arc::new(Shared {
                target,
                // SAFETY: geteuid has no preconditions and cannot fail.
                owner: unsafe { libc::geteuid() == 0 },
                dirs: OnceLock::new(),
                started: Mutex::new(HashMap::new()),
                problems: Mutex::new(Vec::new()),
                unnamed: std::sync::atomic::AtomicBool::new(temp_file::unnamed_supported()),
            }),
            force,
            hard_links: Mutex::new(Vec::new()),
        }
    }

    /// For messages only: nothing is opened by this path.
    fn path_of(&self, rel: &[u8]) -> PathBuf {
        let rel = rel.strip_prefix(b"/").unwrap_or(rel);
        if rel.is_empty() {
            self.shared.target.clone()
        } else {
            self.shared.target.join(OsStr::from_bytes(rel))
        }
    }

    fn check_target(&self) -> Result<()> {
        let target = &self.shared.target;
        match fs::symlink_metadata(target) {
            Err(_) => Ok(()),
            Ok(m) if m.is_dir() => {
                let empty = fs::read_dir(target)?.next().is_none();
                if empty || self.force {
                    Ok(())
                } else {
                    Err(KlosetError::TargetExists(target.display().to_string()).into())
                }
            }
            Ok(_) => Err(KlosetError::TargetExists(target.display().to_string()).into()),
        }
    }
}

#[async_trait]
impl ContentSink for FsDestination {
    /// One blocking task for a whole pack read's worth of small writes.
    async fn write_batch(&self, batch: Vec<SegmentWrite<'_>>) -> Vec<Result<()>> {
        let shared = self.shared.clone();
        let jobs: Vec<Job> = batch
            .into_iter()
            .map(|w| Job {
                file: w.file,
                rel: w.planned.path.clone(),
                node: w.whole.then(|| w.planned.node.clone()),
                s3_key: w.planned.node.s3.as_ref().map(|m| m.key.clone()),
                offset: w.offset,
                data: w.data,
            })
            .collect();
        let n = jobs.len();
        match tokio::task::spawn_blocking(move || {
            jobs.iter()
                .map(|j| {
                    shared
                        .write_segment(j)
                        .map_err(|e| describe_write_error(j.s3_key.as_deref(), e))
                })
                .collect::<Vec<_>>()
        })
        .await
        {
            Ok(results) => results,
            Err(e) => (0..n)
                .map(|_| Err(anyhow!("write task failed: {e}")))
                .collect(),
        }
    }

    async fn write(
        &self,
        file: usize,
        planned: &PlannedFile,
        segment: usize,
        offset: u64,
        data: Bytes,
        whole: bool,
    ) -> Result<()> {
        let w = SegmentWrite {
            file,
            planned,
            segment,
            offset,
            data,
            whole,
        };
        self.write_batch(vec![w]).await.pop().unwrap_or(Ok(()))
    }

    async fn complete(&self, file: usize, planned: &PlannedFile, _segments: usize) -> Result<()> {
        let shared = self.shared.clone();
        let rel = planned.path.clone();
        let node = planned.node.clone();
        let s3_key = planned.node.s3.as_ref().map(|m| m.key.clone());
        tokio::task::spawn_blocking(move || shared.complete(file, &rel, &node))
            .await?
            .map_err(|e| describe_write_error(s3_key.as_deref(), e))
    }

    async fn abandon(&self, file: usize, planned: &PlannedFile) {
        self.shared.abandon(file, &planned.path);
    }
}

#[async_trait]
impl Destination for FsDestination {
    fn display(&self) -> String {
        self.shared.target.display().to_string()
    }

    fn segment_size(&self) -> Option<u64> {
        None
    }

    /// Refuses names that would escape the target or cannot exist on a filesystem (S3 keys
    /// such as `a//b` or `x/../y`): reported, never silently dropped.
    fn accept(&self, parent: &[u8], node: &Node, plan: &mut Plan) -> bool {
        let raw = node.name_bytes();
        if raw.len() > NAME_MAX {
            let name = node
                .s3
                .as_ref()
                .map_or(node.name.as_str(), |m| m.key.as_str());
            plan.errors.push(format!(
                "not restored: '{name}' has a name longer than a filesystem holds ({} bytes, in {})",
                raw.len(),
                self.path_of(parent).display()
            ));
            return false;
        }
        let fits = !(raw.is_empty()
            || raw == b"."
            || raw == b".."
            || raw.contains(&b'/')
            || raw.contains(&0));
        if fits {
            return true;
        }
        let dir = self.path_of(parent);
        match (&node.s3, node.kind) {
            // A folder marker (`dir/`, empty) is the directory itself.
            (Some(s3), NodeKind::File) if raw.is_empty() && node.size == 0 => plan.notes.push(format!(
                "folder marker '{}' restored as the directory {} (its object metadata is not)",
                s3.key,
                dir.display()
            )),
            (Some(s3), _) => plan.errors.push(format!(
                "not restored: key '{}' has a name a filesystem cannot hold (in {})",
                s3.key,
                dir.display()
            )),
            (None, NodeKind::Dir) => plan.errors.push(format!(
                "not restored: a folder named '{}' in {} (from S3 keys with '//', '.' or '..') and everything in it",
                node.name,
                dir.display()
            )),
            (None, _) => plan.errors.push(format!(
                "not restored: entry '{}' in {} has a name a filesystem cannot hold",
                node.name,
                dir.display()
            )),
        }
        false
    }

    async fn prepare(&self, plan: &mut Plan, _reader: &Reader) -> Result<()> {
        self.check_target()?;
        let target = &self.shared.target;
        fs::create_dir_all(target)
            .map_err(|e| anyhow!("cannot create restore target {}: {e}", target.display()))?;
        let dirs = TargetDirs::open(target)
            .map_err(|e| anyhow!("cannot open restore target {}: {e}", target.display()))?;
        let had_content = Dir::read_from(&**dirs.root()).is_ok_and(|d| {
            d.flatten()
                .any(|e| !matches!(e.file_name().to_bytes(), b"." | b".."))
        });
        // Parents come before their children in the plan.
        let mut refused = HashSet::new();
        for (rel, _) in &plan.dirs {
            if is_below(rel, &refused) {
                continue;
            }
            if let Err(e) = make_dir(&dirs, rel, self.force) {
                plan.errors.push(format!(
                    "not restored: {} and everything in it: {e}",
                    dirs.shown(rel).display()
                ));
                refused.insert(rel.clone());
            }
        }
        if !refused.is_empty() {
            drop_below(plan, &refused);
        }
        *self.hard_links.lock().expect("hard links") = split_hard_links(&mut plan.files);
        if had_content {
            // An interrupted restore into the same target left its unfinished files.
            let rels = std::iter::once(&[][..]).chain(plan.dirs.iter().map(|(r, _)| &r[..]));
            for rel in rels {
                if let Ok(dir) = dirs.dir(rel) {
                    temp_file::remove_unfinished(&dir);
                }
            }
        }
        self.shared
            .dirs
            .set(dirs)
            .map_err(|_| anyhow!("restore target prepared twice"))?;
        Ok(())
    }

    async fn finish(&self, plan: &mut Plan, errors: &mut Vec<String>) -> Result<()> {
        let dirs = self.shared.dirs()?;
        let owner = self.shared.owner;
        let in_parent = |rel: &[u8]| {
            let (parent, name) = split_parent(rel);
            dirs.dir(parent).map(|fd| (fd, name.to_vec()))
        };
        let hard_links = std::mem::take(&mut *self.hard_links.lock().expect("hard links"));
        for (rel, first) in &hard_links {
            let made = in_parent(first).and_then(|f| in_parent(rel).map(|p| (f, p)));
            let made = made
                .map_err(anyhow::Error::from)
                .and_then(|((f, fname), (p, name))| restore_hard_link(&f, &fname, &p, &name));
            if let Err(e) = made {
                errors.push(format!(
                    "{}: hard link to {} not made: {e:#}",
                    dirs.shown(rel).display(),
                    dirs.shown(first).display()
                ));
            }
        }
        for (rel, node) in &plan.links {
            let made = in_parent(rel)
                .map_err(anyhow::Error::from)
                .and_then(|(p, name)| restore_symlink(&p, &name, node, owner));
            if let Err(e) = made {
                errors.push(format!("{}: {e:#}", dirs.shown(rel).display()));
            }
        }
        for (rel, node) in &plan.specials {
            let made = in_parent(rel)
                .map_err(anyhow::Error::from)
                .and_then(|(p, name)| restore_special(&p, &name, node, owner));
            if let Err(e) = made {
                errors.push(format!("{}: {e:#}", dirs.shown(rel).display()));
            }
        }
        let mut problems = std::mem::take(&mut *self.shared.problems.lock().expect("problems"));
        // Deepest first, so setting a parent's mtime comes after its children are done.
        for (rel, node) in plan.dirs.iter().rev() {
            let shown = dirs.shown(rel);
            let done = dirs
                .dir(rel)
                .and_then(|fd| dir_meta(&fd, node, owner, &shown, &mut problems));
            if let Err(e) = done {
                errors.push(format!("{}: {e}", shown.display()));
            }
        }
        errors.extend(problems);
        Ok(())
    }
}

/// A real directory at `rel`, open and kept: one there stays, a link or file there is
/// replaced with `force` (through its parent's descriptor, never followed).
fn make_dir(dirs: &TargetDirs, rel: &[u8], force: bool) -> io::Result<()> {
    let (parent, name) = split_parent(rel);
    let parent = dirs.dir(parent)?;
    // Only this user can reach into it until its own mode is set, last.
    let private = Mode::from_raw_mode(0o700);
    match mkdirat(&*parent, name, private) {
        Ok(()) => {}
        Err(Errno::EXIST) => {
            let st = statat(&*parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                if !force {
                    return Err(io::Error::other(
                        "a symlink or file is where the snapshot has a directory (restore --force replaces it)",
                    ));
                }
                unlinkat(&*parent, name, AtFlags::empty())?;
                mkdirat(&*parent, name, private)?;
            }
        }
        Err(e) => return Err(e.into()),
    }
    dirs.dir(rel).map(drop)
}

/// Whether `rel` is one of `dirs` or below one.
fn is_below(rel: &[u8], dirs: &HashSet<Vec<u8>>) -> bool {
    (1..=rel.len())
        .filter(|&end| end == rel.len() || rel[end] == b'/')
        .any(|end| dirs.contains(&rel[..end]))
}

/// Takes every entry in or below the refused `dirs` out of the plan.
fn drop_below(plan: &mut Plan, dirs: &HashSet<Vec<u8>>) {
    plan.dirs.retain(|(rel, _)| !is_below(rel, dirs));
    plan.files.retain(|f| !is_below(&f.path, dirs));
    plan.links.retain(|(rel, _)| !is_below(rel, dirs));
    plan.specials.retain(|(rel, _)| !is_below(rel, dirs));
}

/// Takes the second and later names of each hard-linked file out of the files to write:
/// (path, path of the first name).
fn split_hard_links(files: &mut Vec<PlannedFile>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut first: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let mut links = Vec::new();
    files.retain(|f| {
        if f.node.links < 2 {
            return true;
        }
        match first.entry((f.node.device, f.node.inode)) {
            Entry::Occupied(e) => {
                links.push((f.path.clone(), e.get().clone()));
                false
            }
            Entry::Vacant(v) => {
                v.insert(f.path.clone());
                true
            }
        }
    });
    links
}

fn describe_write_error(s3_key: Option<&str>, e: io::Error) -> anyhow::Error {
    match (s3_key, e.kind() == io::ErrorKind::IsADirectory) {
        (Some(key), true) => anyhow!(
            "not restored: key '{key}' is a file where other keys make a folder of the same name"
        ),
        _ => e.into(),
    }
}

#[cfg(test)]
mod tests;
