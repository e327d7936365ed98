//! Restoring into a directory: blobs are written straight to their offsets as they arrive, so
//! each pack is fetched once however many files share it. Each file is written under a
//! temporary name beside its final one and renamed into place only when every blob of it has
//! been verified and written, so a failed restore never leaves a wrong file that looks
//! finished. Nothing is followed through a symlink: temporary files are opened with
//! O_NOFOLLOW, renames replace a link rather than write through it, and a link or file where
//! the snapshot has a directory is replaced by a real directory before anything goes in it.
//! Directories get their metadata last, deepest first.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use bytes::Bytes;

use crate::error::KlosetError;
use crate::repo::tree::{Node, NodeKind};
use crate::restore::{ContentSink, Destination, Plan, PlannedFile, Reader, SegmentWrite};

/// The longest name (in bytes) Linux filesystems hold.
const NAME_MAX: usize = 255;

pub struct FsDestination {
    target: PathBuf,
    force: bool,
    owner: bool,
}

impl FsDestination {
    pub fn new(target: PathBuf, force: bool) -> FsDestination {
        FsDestination {
            target,
            force,
            // SAFETY: geteuid has no preconditions and cannot fail.
            owner: unsafe { libc::geteuid() == 0 },
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
                            Some(node) => put_in_place(&f, &j.temp, &j.path, node, owner),
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
        let s3_key = planned.node.s3.as_ref().map(|m| m.key.clone());
        tokio::task::spawn_blocking(move || {
            let f = open_no_follow(&temp)?;
            put_in_place(&f, &temp, &path, &node, owner)
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
        for (rel, node) in &plan.links {
            let path = self.path_of(rel);
            if let Err(e) = restore_symlink(&path, node, self.owner) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        // Deepest first, so setting a parent's mtime comes after its children are done.
        for (rel, node) in plan.dirs.iter().rev() {
            let path = self.path_of(rel);
            if let Err(e) = apply_dir_meta(&path, node, self.owner) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        Ok(())
    }
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
    file.write_all_at(data, offset)?;
    Ok(file)
}

/// The file is complete and verified: its metadata goes on, then it takes its final name
/// (replacing, never following, whatever was there).
fn put_in_place(
    file: &File,
    temp: &Path,
    path: &Path,
    node: &Node,
    owner: bool,
) -> std::io::Result<()> {
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

fn apply_file_meta(file: &File, node: &Node, owner: bool) -> std::io::Result<()> {
    // Trims a longer file left behind at the target (restore --force).
    file.set_len(node.size)?;
    if owner {
        std::os::unix::fs::fchown(file, Some(node.uid), Some(node.gid))?;
    }
    file.set_permissions(fs::Permissions::from_mode(node.mode))?;
    let t = time_of(node.mtime);
    file.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))?;
    Ok(())
}

fn restore_symlink(path: &Path, node: &Node, owner: bool) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        fs::remove_file(path)?;
    }
    std::os::unix::fs::symlink(OsStr::from_bytes(&node.target_bytes()), path)?;
    if owner {
        std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid))?;
    }
    let t = filetime::FileTime::from_system_time(time_of(node.mtime));
    filetime::set_symlink_file_times(path, t, t)?;
    Ok(())
}

fn apply_dir_meta(path: &Path, node: &Node, owner: bool) -> Result<()> {
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
