//! `kloset backup`: pick the parent, run the archiver over the source, then commit through
//! `Repo::commit` (packs, index, then the snapshot: the single commit point). The repo comes
//! with the writer's lease taken before its index was loaded; it is released at the end,
//! whatever happened.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use chrono::Utc;

use crate::archive::archiver::Archiver;
use crate::archive::saver::BlobSaver;
use crate::archive::{Source, Work};
use crate::cancel::Cancel;
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::repo::commit::CommitRefs;
use crate::repo::id::Id;
use crate::repo::snapshot::{Snapshot, Summary};
use crate::repo::IndexedRepo;

pub struct BackupOptions {
    /// The source as the user named it, for display.
    pub source_display: String,
    pub tags: Vec<String>,
    pub quiet: bool,
    /// Read every file even when the parent says it is unchanged.
    pub force: bool,
    /// Pack uploads in flight.
    pub concurrency: usize,
    pub cancel: Cancel,
    /// Recorded instead of this machine's name and the current time (importing history).
    pub host: Option<String>,
    pub time: Option<chrono::DateTime<Utc>>,
    /// Walk and read the source, count what is new, write nothing to the store.
    pub dry_run: bool,
}

pub struct BackupOutcome {
    /// Of the snapshot written, or of the one a dry run would have written.
    pub id: Id,
    pub dry_run: bool,
    pub snapshot: Snapshot,
    pub errors: Vec<String>,
}

pub async fn backup<S: Source>(
    repo: Arc<IndexedRepo>,
    source: S,
    opts: BackupOptions,
) -> Result<BackupOutcome> {
    let outcome = run(repo.clone(), source, opts).await;
    repo.release_lease().await;
    outcome
}

async fn run<S: Source>(
    repo: Arc<IndexedRepo>,
    source: S,
    opts: BackupOptions,
) -> Result<BackupOutcome> {
    let started = Instant::now();
    opts.cancel.stop_gracefully();
    let host = opts.host.clone().unwrap_or_else(host_name);
    let source_key = source.source_key(&host);
    let parent = if opts.force {
        None
    } else {
        latest_for(&repo, &source_key, &host).await?
    };
    let (saver, uploader) = BlobSaver::start(repo.clone(), opts.concurrency, opts.dry_run);
    let progress = Progress::new(opts.quiet, "backup", source.total_bytes());
    if progress.is_visible() && source.total_bytes().is_none() {
        source.estimate(&progress);
    }
    let paths = source.paths();
    let recorded_source = source.recorded(&opts.source_display);
    let work = Arc::new(Work::new(saver.clone(), progress.clone()));
    let archiver = Arc::new(Archiver::new(
        repo.clone(),
        Arc::new(source),
        work.clone(),
        opts.cancel.clone(),
    ));
    let tree = match archiver.run(parent.as_ref().map(|(_, s)| s.tree)).await {
        Ok(t) => {
            let saver = saver.clone();
            tokio::task::spawn_blocking(move || saver.flush().map(|_| t)).await?
        }
        Err(e) => Err(e),
    };
    saver.finish_training().await;
    saver.close();
    let upload = uploader.await?;
    progress.finish();
    // The uploader's error explains a walk that stopped because uploads failed.
    upload?;
    let tree = tree?;
    if opts.cancel.is_requested() {
        return Err(KlosetError::Interrupted.into());
    }
    let errors = work.take_errors();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let (walk, saved) = (&archiver.stats, &saver.stats);
    let summary = Summary {
        files: load(&walk.files),
        dirs: load(&walk.dirs),
        symlinks: load(&walk.symlinks),
        bytes: load(&walk.bytes),
        files_read: load(&walk.files_read),
        new_bytes: load(&saved.new_bytes),
        stored_bytes: load(&saved.stored_bytes),
        new_blobs: load(&saved.new_blobs),
        errors: errors.len() as u64,
        duration_secs: started.elapsed().as_secs_f64(),
    };
    let snapshot = Snapshot {
        time: opts.time.unwrap_or_else(|| repo.now()),
        host,
        user: std::env::var("USER").unwrap_or_default(),
        source: recorded_source,
        source_key,
        paths,
        tags: opts.tags,
        tree,
        parent: parent.map(|(id, _)| id),
        original: None,
        summary,
    };
    if opts.dry_run {
        return Ok(BackupOutcome {
            id: Id::of_bytes(&serde_json::to_vec(&snapshot)?),
            dry_run: true,
            snapshot,
            errors,
        });
    }
    let refs = CommitRefs {
        reused: saver.reused_packs(),
        written: saver.writer.written_ids(),
    };
    let id = repo.commit(&snapshot, &refs).await?;
    Ok(BackupOutcome {
        id,
        dry_run: false,
        snapshot,
        errors,
    })
}

/// The newest snapshot of the same source on the same host (as recorded, so `--host` counts):
/// the parent for change detection.
pub async fn latest_for(
    repo: &IndexedRepo,
    source_key: &str,
    host: &str,
) -> Result<Option<(Id, Snapshot)>> {
    Ok(repo
        .snapshots()
        .await?
        .into_iter()
        .rev()
        .find(|(_, s)| s.source_key == source_key && s.host == host))
}

pub fn host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}
