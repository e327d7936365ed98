//! `kloset backup`: run a source through the saver, then commit: packs, index, snapshot.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, Result};
use chrono::Utc;

use super::backup_fs::{FsArchiver, Slots};
use super::saver::{BlobSaver, WalkStats};
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::snapshot::{Snapshot, Summary};
use crate::repo::Repo;

pub struct BackupOptions {
    /// The source as the user named it, for display.
    pub source_display: String,
    pub tags: Vec<String>,
    pub quiet: bool,
    /// Read every file even when the parent says it is unchanged.
    pub force: bool,
    pub concurrency: usize,
}

pub struct BackupOutcome {
    pub id: Id,
    pub snapshot: Snapshot,
    pub errors: Vec<String>,
}

pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set while a backup runs: only then does Ctrl-C wait for a clean stop.
pub static RUNNING: AtomicBool = AtomicBool::new(false);

pub async fn backup_fs(
    repo: Arc<Repo>,
    root: PathBuf,
    opts: BackupOptions,
) -> Result<BackupOutcome> {
    let started = Instant::now();
    let root = std::path::absolute(&root)?;
    let source_key = format!("fs:{}:{}", host_name(), root.display());
    let parent = parent_of(&repo, &source_key, opts.force).await?;
    let (saver, uploader) = BlobSaver::start(repo.clone(), opts.concurrency);
    let progress = Progress::new(opts.quiet, "backup", None);
    let rt = tokio::runtime::Handle::current();
    let parent_tree = parent.as_ref().map(|(_, s)| s.tree);
    let walk = {
        let repo = repo.clone();
        let saver = saver.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            let archiver = FsArchiver {
                repo,
                saver: saver.clone(),
                rt,
                progress,
                stats: WalkStats::default(),
                errors: Mutex::new(Vec::new()),
                interrupted: &INTERRUPTED,
                big_files: Slots::new(
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2),
                ),
            };
            let tree = archiver.run(&root, parent_tree);
            let tree = tree.and_then(|t| saver.flush().map(|_| t));
            Walked {
                tree,
                stats: archiver.stats,
                errors: archiver.errors.into_inner().unwrap_or_default(),
            }
        })
    };
    let walked = walk.await?;
    let pending = Pending {
        repo,
        saver,
        uploader,
        progress,
        started,
        source_key,
        parent,
    };
    pending.commit(walked, opts).await
}

/// What a source walk hands back to the commit step.
pub struct Walked {
    pub tree: Result<Id>,
    pub stats: WalkStats,
    pub errors: Vec<String>,
}

/// A backup whose data is being saved; `commit` waits for the uploads and writes the snapshot.
pub struct Pending {
    pub repo: Arc<Repo>,
    pub saver: Arc<BlobSaver>,
    pub uploader: tokio::task::JoinHandle<Result<()>>,
    pub progress: Progress,
    pub started: Instant,
    pub source_key: String,
    pub parent: Option<(Id, Snapshot)>,
}

impl Pending {
    pub async fn commit(self, walked: Walked, opts: BackupOptions) -> Result<BackupOutcome> {
        // The saver owns the channel's sender: consuming it lets the uploader drain and finish.
        let saver_stats = Arc::try_unwrap(self.saver)
            .map_err(|_| anyhow!("internal: saver still shared"))?
            .into_stats();
        let upload = self.uploader.await?;
        self.progress.finish();
        // The uploader's error explains a walk that stopped because uploads failed.
        upload?;
        let tree = walked.tree?;
        if INTERRUPTED.load(Ordering::Relaxed) {
            return Err(KlosetError::Interrupted.into());
        }
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let stats = &walked.stats;
        let summary = Summary {
            files: load(&stats.files),
            dirs: load(&stats.dirs),
            symlinks: load(&stats.symlinks),
            bytes: load(&stats.bytes),
            files_read: load(&stats.files_read),
            new_bytes: load(&saver_stats.new_bytes),
            stored_bytes: load(&saver_stats.stored_bytes),
            new_blobs: load(&saver_stats.new_blobs),
            errors: walked.errors.len() as u64,
            duration_secs: self.started.elapsed().as_secs_f64(),
        };
        let snapshot = Snapshot {
            time: Utc::now(),
            host: host_name(),
            user: std::env::var("USER").unwrap_or_default(),
            source: opts.source_display,
            source_key: self.source_key,
            tags: opts.tags,
            tree,
            parent: self.parent.map(|(id, _)| id),
            summary,
        };
        let id = self.repo.save_snapshot(&snapshot).await?;
        Ok(BackupOutcome {
            id,
            snapshot,
            errors: walked.errors,
        })
    }
}

pub async fn parent_of(
    repo: &Repo,
    source_key: &str,
    force: bool,
) -> Result<Option<(Id, Snapshot)>> {
    if force {
        Ok(None)
    } else {
        latest_for(repo, source_key).await
    }
}

/// The newest snapshot of the same source on the same host: the parent for change detection.
pub async fn latest_for(repo: &Repo, source_key: &str) -> Result<Option<(Id, Snapshot)>> {
    Ok(repo
        .snapshots()
        .await?
        .into_iter()
        .rev()
        .find(|(_, s)| s.source_key == source_key))
}

pub fn host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}
