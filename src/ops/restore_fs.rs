//! Restoring a tree into a directory.
//!
//! Blobs are read pack by pack (one coalesced ranged read per pack, many packs in flight),
//! decrypted on blocking threads and written straight to their offsets in the target files,
//! so each pack is fetched once however many files share it. A file's metadata is applied by
//! whichever write completes it; directories get theirs last, deepest first.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use futures::{stream, StreamExt};

use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::index::{pack_key, BlobLocation};
use crate::repo::tree::{Node, NodeKind};
use crate::repo::{open_blob, Repo};

/// Bytes of pack data in flight across all reads; each read is this divided by the
/// concurrency, between 2 and 8 MiB.
const READ_BUDGET: u64 = 64 * 1024 * 1024;

pub struct RestoreOptions {
    pub force: bool,
    pub quiet: bool,
    pub concurrency: usize,
}

#[derive(Debug, Default)]
pub struct RestoreSummary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
}

/// What to restore: the children of a tree (a snapshot root or a directory), or one node.
pub enum RestoreRoot {
    Tree(Id),
    Node(Box<Node>),
}

struct FileJob {
    path: PathBuf,
    node: Node,
    remaining: AtomicUsize,
}

struct BlobUse {
    id: Id,
    loc: BlobLocation,
    /// (file index, offset in that file)
    targets: Vec<(usize, u64)>,
}

pub async fn restore_fs(
    repo: Arc<Repo>,
    root: RestoreRoot,
    target: &Path,
    opts: RestoreOptions,
) -> Result<RestoreSummary> {
    check_target(target, opts.force)?;
    fs::create_dir_all(target)
        .map_err(|e| anyhow!("cannot create restore target {}: {e}", target.display()))?;
    let mut summary = RestoreSummary::default();
    let mut plan = Plan::default();
    let mut level: Vec<(PathBuf, Id)> = Vec::new();
    match root {
        RestoreRoot::Tree(id) => level.push((target.to_path_buf(), id)),
        RestoreRoot::Node(node) => plan.place(target, *node, &mut level),
    }
    // Breadth first, each level's trees fetched together: few round trips even on S3.
    while !level.is_empty() {
        let mut dirs_of: HashMap<Id, Vec<PathBuf>> = HashMap::new();
        for (dir, id) in std::mem::take(&mut level) {
            dirs_of.entry(id).or_default().push(dir);
        }
        let trees = repo.load_trees(dirs_of.keys().copied().collect()).await?;
        for (id, tree) in trees {
            // Identical directories share one tree blob.
            for dir in &dirs_of[&id] {
                for node in tree.nodes.iter().cloned() {
                    plan.place(dir, node, &mut level);
                }
            }
        }
    }
    let Plan {
        files,
        dirs,
        links,
        errors: plan_errors,
        notes,
    } = plan;
    summary.errors = plan_errors;
    summary.notes = notes;
    for (path, _) in &dirs {
        fs::create_dir_all(path).map_err(|e| anyhow!("cannot create {}: {e}", path.display()))?;
    }

    // Group every blob use by pack.
    let mut by_pack: HashMap<u32, HashMap<Id, BlobUse>> = HashMap::new();
    let mut total = 0u64;
    for (i, job) in files.iter().enumerate() {
        let mut offset = 0u64;
        for id in &job.node.content {
            let loc = repo.index.get(id).ok_or_else(|| {
                KlosetError::Integrity(format!(
                    "blob {} of {} is missing from the index: run 'kloset check'",
                    id.short(),
                    job.path.display()
                ))
            })?;
            by_pack
                .entry(loc.pack)
                .or_default()
                .entry(*id)
                .or_insert_with(|| BlobUse {
                    id: *id,
                    loc,
                    targets: Vec::new(),
                })
                .targets
                .push((i, offset));
            offset += loc.raw_length as u64;
        }
        total += job.node.size;
    }
    let files = Arc::new(files);
    let errors = Arc::new(Mutex::new(std::mem::take(&mut summary.errors)));
    let progress = Progress::new(opts.quiet, "restore", Some(total));
    let owner = is_root();

    // Empty files have no blobs: create them now.
    for job in files.iter().filter(|j| j.node.content.is_empty()) {
        if let Err(e) = finish_file(job, owner, true) {
            errors
                .lock()
                .expect("errors")
                .push(format!("{}: {e}", job.path.display()));
        }
    }

    let concurrency = opts.concurrency.max(1);
    let unit = (READ_BUDGET / concurrency as u64).clamp(2 << 20, 8 << 20);
    let results: Vec<Result<()>> = stream::iter(read_units(by_pack, unit))
        .map(|(pack, blobs)| {
            let repo = repo.clone();
            let files = files.clone();
            let errors = errors.clone();
            let progress = progress.clone();
            async move {
                let ranges: Vec<_> = blobs
                    .iter()
                    .map(|b| b.loc.offset as u64..(b.loc.offset + b.loc.length) as u64)
                    .collect();
                let key = pack_key(&repo.index.pack_id(pack));
                let data = repo.backend.get_ranges(&key, &ranges).await?;
                let keys = repo.keys.clone();
                tokio::task::spawn_blocking(move || {
                    for (blob, sealed) in blobs.iter().zip(data) {
                        let plain = open_blob(&keys, &blob.id, &sealed)?;
                        for &(file, offset) in &blob.targets {
                            let job = &files[file];
                            if let Err(e) = write_part(job, offset, &plain, owner) {
                                errors
                                    .lock()
                                    .expect("errors")
                                    .push(describe_write_error(job, &e));
                            }
                            progress.add_bytes(plain.len() as u64);
                        }
                    }
                    Ok(())
                })
                .await?
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    progress.finish();
    for r in results {
        r?;
    }

    for (path, node) in &links {
        if let Err(e) = restore_symlink(path, node, owner) {
            errors
                .lock()
                .expect("errors")
                .push(format!("{}: {e}", path.display()));
        }
    }
    // Deepest first, so setting a parent's mtime comes after its children are done.
    for (path, node) in dirs.iter().rev() {
        if let Err(e) = apply_dir_meta(path, node, owner) {
            errors
                .lock()
                .expect("errors")
                .push(format!("{}: {e}", path.display()));
        }
    }
    summary.files = files.len() as u64;
    summary.dirs = dirs.len() as u64;
    summary.symlinks = links.len() as u64;
    summary.bytes = total;
    summary.errors = std::mem::take(&mut *errors.lock().expect("errors"));
    Ok(summary)
}

/// Splits each pack's blobs, in offset order, into reads of at most `unit` bytes: enough to
/// amortise a request, small enough that many in flight stay within a modest memory budget.
fn read_units(by_pack: HashMap<u32, HashMap<Id, BlobUse>>, unit: u64) -> Vec<(u32, Vec<BlobUse>)> {
    let mut units = Vec::new();
    for (pack, blobs) in by_pack {
        let mut blobs: Vec<BlobUse> = blobs.into_values().collect();
        blobs.sort_by_key(|b| b.loc.offset);
        let mut current: Vec<BlobUse> = Vec::new();
        let mut start = 0u64;
        for b in blobs {
            let end = (b.loc.offset + b.loc.length) as u64;
            if !current.is_empty() && end - start > unit {
                units.push((pack, std::mem::take(&mut current)));
            }
            if current.is_empty() {
                start = b.loc.offset as u64;
            }
            current.push(b);
        }
        if !current.is_empty() {
            units.push((pack, current));
        }
    }
    units
}

fn check_target(target: &Path, force: bool) -> Result<()> {
    match fs::symlink_metadata(target) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => {
            let empty = fs::read_dir(target)?.next().is_none();
            if empty || force {
                Ok(())
            } else {
                Err(KlosetError::TargetExists(target.display().to_string()).into())
            }
        }
        Ok(_) => Err(KlosetError::TargetExists(target.display().to_string()).into()),
    }
}

#[derive(Default)]
struct Plan {
    files: Vec<FileJob>,
    dirs: Vec<(PathBuf, Node)>,
    links: Vec<(PathBuf, Node)>,
    errors: Vec<String>,
    notes: Vec<String>,
}

impl Plan {
    /// Adds a node under `dir`, refusing names that would escape the target or cannot exist on
    /// a filesystem (S3 keys such as `a//b` or `x/../y`): reported, never silently dropped.
    fn place(&mut self, dir: &Path, node: Node, level: &mut Vec<(PathBuf, Id)>) {
        let raw = node.name_bytes();
        if raw.is_empty() || raw == b"." || raw == b".." || raw.contains(&b'/') || raw.contains(&0)
        {
            match (&node.s3, node.kind) {
                // A folder marker (`dir/`, empty) is the directory itself.
                (Some(s3), NodeKind::File) if raw.is_empty() && node.size == 0 => self.notes.push(format!(
                    "folder marker '{}' restored as the directory {} (its object metadata is not)",
                    s3.key,
                    dir.display()
                )),
                (Some(s3), _) => self.errors.push(format!(
                    "not restored: key '{}' has a name a filesystem cannot hold (in {})",
                    s3.key,
                    dir.display()
                )),
                (None, NodeKind::Dir) => self.errors.push(format!(
                    "not restored: a folder named '{}' in {} (from S3 keys with '//', '.' or '..') and everything in it",
                    node.name,
                    dir.display()
                )),
                (None, _) => self.errors.push(format!(
                    "not restored: entry '{}' in {} has a name a filesystem cannot hold",
                    node.name,
                    dir.display()
                )),
            }
            return;
        }
        let path = dir.join(OsStr::from_bytes(&raw));
        match node.kind {
            NodeKind::Dir => {
                if let Some(id) = node.subtree {
                    level.push((path.clone(), id));
                }
                self.dirs.push((path, node));
            }
            NodeKind::File => self.files.push(FileJob {
                remaining: AtomicUsize::new(node.content.len()),
                path,
                node,
            }),
            NodeKind::Symlink => self.links.push((path, node)),
        }
    }
}

fn describe_write_error(job: &FileJob, e: &anyhow::Error) -> String {
    let is_dir = e
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::IsADirectory);
    match (&job.node.s3, is_dir) {
        (Some(s3), true) => format!(
            "not restored: key '{}' is a file where other keys make a folder of the same name ({})",
            s3.key,
            job.path.display()
        ),
        _ => format!("{}: {e}", job.path.display()),
    }
}

fn write_part(job: &FileJob, offset: u64, data: &[u8], owner: bool) -> Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&job.path)?;
    file.write_all_at(data, offset)?;
    if job.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        apply_file_meta(&file, &job.node, owner)?;
    }
    Ok(())
}

fn finish_file(job: &FileJob, owner: bool, create: bool) -> Result<()> {
    let file = OpenOptions::new()
        .create(create)
        .write(true)
        .truncate(false)
        .open(&job.path)?;
    apply_file_meta(&file, &job.node, owner)
}

fn apply_file_meta(file: &File, node: &Node, owner: bool) -> Result<()> {
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

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
