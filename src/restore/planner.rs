//! The one restore planner: walk once, let the destination accept and prepare, feed content,
//! finish, and account for every entry.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use anyhow::Result;

use super::privilege::Privilege;
use super::{Destination, Plan, PlannedFile, Reader};
use crate::filter::RestoreFilter;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::walk::{child_path, Visit, WalkOptions};
use crate::repo::IndexedRepo;

/// What to restore: the children of a tree (a snapshot root or a directory), or one node.
pub enum RestoreRoot {
    Tree(Id),
    Node(Box<Node>),
}

pub struct RestoreOptions {
    pub quiet: bool,
    pub filter: RestoreFilter,
    /// Have S3 restore packs in an archive storage class, and wait for them.
    pub thaw: bool,
    /// Store reads in flight.
    pub concurrency: usize,
    /// Leave out device nodes, FIFOs, setuid/setgid bits and file capabilities
    /// (`restore --no-special`).
    pub no_special: bool,
    /// `restore --as-of TIME`: each S3 key as it stood then, from its recorded versions.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Ctrl-C: the restore stops between reads and releases what it began (uploads aborted).
    pub cancel: crate::cancel::Cancel,
}

/// Which entry of a key with a history is restored.
#[derive(Clone, Copy)]
enum Versions {
    /// The newest (nothing when that is a delete marker).
    Current,
    AsOf(chrono::DateTime<chrono::Utc>),
    /// Every entry, oldest first, into a destination that keeps versions.
    Replay,
}

#[derive(Debug, Default)]
pub struct RestoreSummary {
    pub target: String,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Bytes of the files restored or found identical.
    pub bytes: u64,
    /// Files (objects) written by this run.
    pub written: u64,
    /// Files already at the destination with the same content.
    pub skipped_identical: u64,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    /// Files not restored because their data in the store is missing or damaged.
    pub damaged: Vec<String>,
    /// Device nodes, setuid/setgid files and files with capabilities restored as they were.
    pub privileged: u64,
}

pub async fn restore<D: Destination>(
    repo: Arc<IndexedRepo>,
    root: RestoreRoot,
    dest: &D,
    opts: RestoreOptions,
) -> Result<RestoreSummary> {
    let mut plan = Plan::default();
    let mut privilege = Privilege::new(opts.no_special);
    let versions = match opts.as_of {
        Some(t) => Versions::AsOf(t),
        None if dest.keeps_versions().await? => Versions::Replay,
        None => Versions::Current,
    };
    let mut placing = |plan: &mut Plan, parent: &[u8], node: &Node| {
        place(
            dest,
            &opts.filter,
            &mut privilege,
            versions,
            plan,
            parent,
            node,
        )
    };
    match root {
        RestoreRoot::Tree(id) => {
            repo.walk(
                vec![(Vec::new(), id)],
                WalkOptions::default(),
                |v| match v {
                    Visit::Node { parent, node } => placing(&mut plan, parent, node),
                    Visit::Pages { .. } | Visit::Broken { .. } => false,
                },
            )
            .await?
        }
        RestoreRoot::Node(node) => {
            placing(&mut plan, b"", &node);
        }
    }
    plan.notes.extend(privilege.note());
    if !opts.filter.include.is_empty() {
        keep_dirs_on_the_way(&mut plan, &opts.filter);
    }
    let packs: BTreeSet<u32> = plan
        .files
        .iter()
        .chain(plan.history.iter().flatten())
        .flat_map(|f| &f.node.content)
        .filter_map(|id| repo.blob(id).map(|b| b.pack))
        .collect();
    repo.ensure_readable(&packs.into_iter().collect::<Vec<_>>(), opts.thaw)
        .await?;
    let planned_files = all(&plan).count() as u64;
    let planned_bytes: u64 = all(&plan).map(|f| f.node.size).sum();
    let reader = Reader::new(repo, opts.concurrency).stopped_by(opts.cancel.clone());
    dest.prepare(&mut plan, &reader).await?;
    let total: u64 = all(&plan).map(|f| f.node.size).sum();
    let progress = Progress::new(opts.quiet, "restore", Some(total));
    let mut errors = std::mem::take(&mut plan.errors);
    let (mut written, mut damaged) = (0, Vec::new());
    let history = std::mem::take(&mut plan.history);
    let mut step = std::mem::take(&mut plan.files);
    // Keys of a replay whose entry was not written: their later entries are not written
    // either, so a key's versions never arrive with a gap or a stale one on top.
    let mut stopped: HashSet<Vec<u8>> = HashSet::new();
    for (i, mut next) in std::iter::once(Vec::new()).chain(history).enumerate() {
        if i > 0 {
            let before = next.len();
            next.retain(|f| !stopped.contains(&f.path));
            if next.len() < before {
                errors.push(format!(
                    "{} later versions not written because an earlier version of their key was not",
                    before - next.len()
                ));
            }
            // Each step of a replay starts once the one before has ended.
            let mut later = Plan {
                files: next,
                replay: true,
                step: i,
                ..Plan::default()
            };
            dest.prepare(&mut later, &reader).await?;
            errors.append(&mut later.errors);
            step = later.files;
        }
        let fed = reader
            .feed(&step, dest.segment_size(), dest, &progress)
            .await?;
        if opts.cancel.is_requested() {
            return Err(crate::error::KlosetError::Interrupted.into());
        }
        for (file, why) in &fed.failed {
            errors.push(format!("{}: {why}", show(&step[*file])));
        }
        if fed.not_attempted > 0 {
            errors.push(format!(
                "{} more files not attempted after the first failure",
                fed.not_attempted
            ));
        }
        written += fed.written.len() as u64;
        damaged.extend(fed.damaged.iter().map(|f| show(&step[*f])));
        if plan.replay {
            let done: HashSet<usize> = fed.written.iter().copied().collect();
            stopped.extend(
                (0..step.len())
                    .filter(|f| !done.contains(f))
                    .map(|f| step[f].path.clone()),
            );
        }
        plan.files.append(&mut step);
    }
    progress.finish();
    dest.finish(&mut plan, &mut errors).await?;
    Ok(RestoreSummary {
        target: dest.display(),
        files: planned_files,
        dirs: plan.dirs.len() as u64,
        symlinks: plan.links.len() as u64,
        bytes: planned_bytes,
        written,
        skipped_identical: dest.skipped(),
        errors,
        notes: plan.notes,
        damaged,
        privileged: privilege.kept,
    })
}

/// Every file of the plan, those of a replay's later steps too.
fn all(plan: &Plan) -> impl Iterator<Item = &PlannedFile> {
    plan.files.iter().chain(plan.history.iter().flatten())
}

/// Adds an accepted node to the plan; true to descend into it.
fn place<D: Destination>(
    dest: &D,
    filter: &RestoreFilter,
    privilege: &mut Privilege,
    versions: Versions,
    plan: &mut Plan,
    parent: &[u8],
    node: &Node,
) -> bool {
    let path = child_path(parent, node);
    let then;
    let node = match versions {
        Versions::AsOf(t) if node.kind == NodeKind::File && node.s3.is_some() => {
            match node.as_of(t) {
                Some(n) => {
                    then = n;
                    &then
                }
                None => return false,
            }
        }
        // A key deleted (its newest entry a delete marker) is not in the current state.
        Versions::Current if node.is_deleted() => return false,
        _ => node,
    };
    if !filter.is_empty() {
        let rel = String::from_utf8_lossy(&path[1..]);
        let is_dir = node.kind == NodeKind::Dir;
        if filter.excluded(&rel, is_dir) || (!is_dir && !filter.included(&rel, false)) {
            return false;
        }
    }
    let Some(node) = privilege.admit(node) else {
        return false;
    };
    if !dest.accept(parent, &node, plan) {
        return false;
    }
    let node = node.into_owned();
    match node.kind {
        NodeKind::Dir => {
            plan.dirs.push((path, node));
            true
        }
        NodeKind::File if matches!(versions, Versions::Replay) && node.has_history() => {
            let entries = node.s3.iter().flat_map(|m| &m.versions);
            for (i, v) in entries.enumerate() {
                let file = PlannedFile {
                    path: path.clone(),
                    node: node.version_node(v),
                };
                match i {
                    0 => plan.files.push(file),
                    i => {
                        if plan.history.len() < i {
                            plan.history.resize_with(i, Vec::new);
                        }
                        plan.history[i - 1].push(file);
                    }
                }
            }
            plan.replay = true;
            false
        }
        NodeKind::File => {
            plan.files.push(PlannedFile { path, node });
            false
        }
        NodeKind::Symlink => {
            plan.links.push((path, node));
            false
        }
        NodeKind::Fifo | NodeKind::Chardev | NodeKind::Blockdev => {
            plan.specials.push((path, node));
            false
        }
    }
}

/// With --include, directories are walked whatever their name; keep those that hold
/// something included, or are included themselves.
fn keep_dirs_on_the_way(plan: &mut Plan, filter: &RestoreFilter) {
    let mut needed: HashSet<&[u8]> = HashSet::new();
    let kept = plan.files.iter().map(|f| f.path.as_slice()).chain(
        plan.links
            .iter()
            .chain(&plan.specials)
            .map(|(p, _)| p.as_slice()),
    );
    for path in kept {
        let mut p = path;
        while let Some(cut) = p.iter().rposition(|c| *c == b'/') {
            p = &p[..cut];
            if !needed.insert(p) {
                break;
            }
        }
    }
    let needed: HashSet<Vec<u8>> = needed.into_iter().map(<[u8]>::to_vec).collect();
    plan.dirs.retain(|(path, _)| {
        needed.contains(path) || filter.included(&String::from_utf8_lossy(&path[1..]), true)
    });
}

fn show(file: &PlannedFile) -> String {
    String::from_utf8_lossy(file.relative()).into_owned()
}
