//! Restoring into a directory: blobs are written straight to their offsets as they arrive, so
//! each pack is fetched once however many files share it. Each file is written under a
//! temporary name beside its final one and renamed into place only when every blob of it has
//! been verified and written, so a failed restore never leaves a wrong file that looks
//! finished. Nothing is followed through a symlink: temporary files are opened with
//! O_NOFOLLOW, renames replace a link rather than write through it, and a link or file where
//! the snapshot has a directory is replaced by a real directory before anything goes in it.
//! Directories get their metadata last, deepest first. Runs of zeros are not written, so
//! sparse files come back sparse; entries that shared an inode come back as hard links.

use std::collections::hash_map::{Entry, HashMap};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use bytes::Bytes;

use super::meta::{
    apply_dir_meta, apply_file_meta, apply_xattrs, restore_hard_link, restore_special,
    restore_symlink,
};
use crate::error::KlosetError;
use crate::repo::tree::{Node, NodeKind};
use crate::restore::{ContentSink, Destination, Plan, PlannedFile, Reader, SegmentWrite};

/// The longest name (in bytes) Linux filesystems hold.
const NAME_MAX: usize = 255;

pub struct FsDestination {
    target: PathBuf,
    force: bool,
    owner: bool,
    /// Second and later names of hard-linked files, with the first name: linked at the end.
    hard_links: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Metadata that could not be put back on an entry that was itself restored.
    problems: Arc<Mutex<Vec<String>>>,
}

impl FsDestination {
    pub fn new(target: PathBuf, force: bool) -> FsDestination {
        FsDestination {
            target,
            force,
            // SAFETY: geteuid has no preconditions and cannot fail.
            owner: unsafe { libc::geteuid() == 0 },
            hard_links: Mutex::new(Vec::new()),
            problems: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn path_of(&self, rel: &[u8]) -> PathBuf {
        let rel = rel.strip_prefix(b"/").unwrap_or(rel);
        if rel.is_empty() {
            self.target.clone()
        } else {
            self.target.join(OsStr::from_bytes(rel))
        }
    }

    /// Where a file is written until it is complete: beside its final name, so the rename
    /// that puts it in place stays within one directory.
    fn temp_of(&self, file: usize, planned: &PlannedFile) -> PathBuf {
        let path = self.path_of(&planned.path);
        let dir = path.parent().unwrap_or(&self.target);
        dir.join(format!(".kloset-{}-{file}.part", std::process::id()))
    }

    fn check_target(&self) -> Result<()> {
        match fs::symlink_metadata(&self.target) {
            Err(_) => Ok(()),
            Ok(m) if m.is_dir() => {
                let empty = fs::read_dir(&self.target)?.next().is_none();
                if empty || self.force {
                    Ok(())
                } else {
                    Err(KlosetError::TargetExists(self.target.display().to_string()).into())
                }
            }
            Ok(_) => Err(KlosetError::TargetExists(self.target.display().to_string()).into()),
        }
    }
}

#[async_trait]
impl ContentSink for FsDestination {
    /// One blocking task for a whole pack read's worth of small writes.
    async fn write_batch(&self, batch: Vec<SegmentWrite<'_>>) -> Vec<Result<()>> {
        let owner = self.owner;
        let problems = self.problems.clone();
        let jobs: Vec<Job> = batch
            .into_iter()
            .map(|w| Job {
                temp: self.temp_of(w.file, w.planned),
                path: self.path_of(&w.planned.path),
                node: w.whole.then(|| w.planned.node.clone()),
                s3_key: w.planned.node.s3.as_ref().map(|m| m.key.clone()),
                offset: w.offset,
                data: w.data,
            })
            .collect();
        let n = jobs.len();
        match tokio::task::spawn_blocking(move || {
            jobs.into_iter()
                .map(|j| {
                    write_at(&j.temp, j.offset, &j.data)
                        .and_then(|f| match &j.node {
                            Some(node) => {
                                put_in_place(&f, &j.temp, &j.path, node, owner, &problems)
                            }
                            None => Ok(()),
                        })
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
        let temp = self.temp_of(file, planned);
        let path = self.path_of(&planned.path);
        let node = planned.node.clone();
        let owner = self.owner;
        let problems = self.problems.clone();
        let s3_key = planned.node.s3.as_ref().map(|m| m.key.clone());
        tokio::task::spawn_blocking(move || {
            let f = open_no_follow(&temp)?;
            put_in_place(&f, &temp, &path, &node, owner, &problems)
        })
        .await?
        .map_err(|e| describe_write_error(s3_key.as_deref(), e))
    }

    async fn abandon(&self, file: usize, planned: &PlannedFile) {
        let _ = std::fs::remove_file(self.temp_of(file, planned));
    }
}

#[async_trait]
impl Destination for FsDestination {
    fn display(&self) -> String {
        self.target.display().to_string()
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
        let had_content = fs::read_dir(&self.target).is_ok_and(|mut d| d.next().is_some());
        fs::create_dir_all(&self.target).map_err(|e| {
            anyhow!(
                "cannot create restore target {}: {e}",
                self.target.display()
            )
        })?;
        // Parents come before their children in the plan.
        for (rel, _) in &plan.dirs {
            let path = self.path_of(rel);
            real_dir(&path).map_err(|e| anyhow!("cannot create {}: {e}", path.display()))?;
        }
        *self.hard_links.lock().expect("hard links") = split_hard_links(&mut plan.files);
        if had_content {
            // An interrupted restore into the same target left its unfinished files.
            let dirs = plan.dirs.iter().map(|(rel, _)| self.path_of(rel));
            for dir in std::iter::once(self.target.clone()).chain(dirs) {
                remove_unfinished(&dir);
            }
        }
        Ok(())
    }

    async fn finish(&self, plan: &mut Plan, errors: &mut Vec<String>) -> Result<()> {
        let hard_links = std::mem::take(&mut *self.hard_links.lock().expect("hard links"));
        for (rel, first) in &hard_links {
            let (path, first) = (self.path_of(rel), self.path_of(first));
            if let Err(e) = restore_hard_link(&first, &path) {
                errors.push(format!(
                    "{}: hard link to {} not made: {e}",
                    path.display(),
                    first.display()
                ));
            }
        }
        for (rel, node) in &plan.links {
            let path = self.path_of(rel);
            if let Err(e) = restore_symlink(&path, node, self.owner) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        for (rel, node) in &plan.specials {
            let path = self.path_of(rel);
            if let Err(e) = restore_special(&path, node, self.owner) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        let mut problems = std::mem::take(&mut *self.problems.lock().expect("problems"));
        // Deepest first, so setting a parent's mtime comes after its children are done.
        for (rel, node) in plan.dirs.iter().rev() {
            let path = self.path_of(rel);
            let set = |name: &str, value: &[u8]| xattr::set(&path, name, value);
            apply_xattrs(&path, node, set, &mut problems);
            if let Err(e) = apply_dir_meta(&path, node, self.owner) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        errors.extend(problems);
        Ok(())
    }
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

struct Job {
    temp: PathBuf,
    path: PathBuf,
    node: Option<Node>,
    s3_key: Option<String>,
    offset: u64,
    data: Bytes,
}

/// A directory at `path`, never a link to one: a link or file there (restore --force) is
/// replaced.
fn real_dir(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => {
            fs::remove_file(path)?;
            fs::create_dir(path)
        }
        Err(_) => fs::create_dir(path),
    }
}

fn is_unfinished(name: &[u8]) -> bool {
    let Some(rest) = name
        .strip_prefix(b".kloset-")
        .and_then(|r| r.strip_suffix(b".part"))
    else {
        return false;
    };
    rest.iter().all(|c| c.is_ascii_digit() || *c == b'-')
}

fn remove_unfinished(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if is_unfinished(e.file_name().as_bytes()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn write_at(temp: &Path, offset: u64, data: &[u8]) -> std::io::Result<File> {
    let file = open_no_follow(temp)?;
    write_sparse(&file, offset, data)?;
    Ok(file)
}

/// Filesystem blocks of zeros are left unwritten: a new file reads zeros there without
/// holding blocks (its length is set when it is complete).
fn write_sparse(file: &File, offset: u64, data: &[u8]) -> std::io::Result<()> {
    const BLOCK: u64 = 4096;
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < data.len() {
        let next_boundary = ((offset + i as u64) / BLOCK + 1) * BLOCK;
        let end = ((next_boundary - offset) as usize).min(data.len());
        // No early exit: an OR over the block vectorises, and most blocks are not zero.
        let zero = data[i..end].iter().fold(0u8, |acc, b| acc | b) == 0;
        match (zero, run) {
            (false, None) => run = Some(i),
            (true, Some(start)) => {
                file.write_all_at(&data[start..i], offset + start as u64)?;
                run = None;
            }
            _ => {}
        }
        i = end;
    }
    if let Some(start) = run {
        file.write_all_at(&data[start..], offset + start as u64)?;
    }
    Ok(())
}

/// The file is complete and verified: its metadata goes on, then it takes its final name
/// (replacing, never following, whatever was there).
fn put_in_place(
    file: &File,
    temp: &Path,
    path: &Path,
    node: &Node,
    owner: bool,
    problems: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    if !node.xattrs.is_empty() {
        use xattr::FileExt;
        let mut found = Vec::new();
        apply_xattrs(path, node, |n, v| file.set_xattr(n, v), &mut found);
        problems.lock().expect("problems").extend(found);
    }
    apply_file_meta(file, node, owner)?;
    fs::rename(temp, path)
}

fn describe_write_error(s3_key: Option<&str>, e: std::io::Error) -> anyhow::Error {
    match (s3_key, e.kind() == std::io::ErrorKind::IsADirectory) {
        (Some(key), true) => anyhow!(
            "not restored: key '{key}' is a file where other keys make a folder of the same name"
        ),
        _ => e.into(),
    }
}
