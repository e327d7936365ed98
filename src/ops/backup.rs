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
        latest_for(&repo, &source_key, &host, opts.host.is_some()).await?
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
        version: 0,
        summary,
        extra: Default::default(),
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

/// The newest snapshot of the same source (its key without a host, see `split_key`) on the same host as recorded,
/// so that `--host` counts: the parent for change detection. A source whose key names no host
/// (an S3 bucket) takes any host's, unless `--host` was given.
pub async fn latest_for(
    repo: &IndexedRepo,
    source_key: &str,
    host: &str,
    host_given: bool,
) -> Result<Option<(Id, Snapshot)>> {
    let (key, keyed_host) = split_key(source_key);
    let by_host = host_given || keyed_host.is_some();
    Ok(repo
        .snapshots()
        .await?
        .into_iter()
        .rev()
        .find(|(_, s)| split_key(&s.source_key).0 == key && (!by_host || s.host == host)))
}

/// What a source key names apart from a host: forget groups by it.
pub fn source_of_key(key: &str) -> String {
    split_key(key).0
}

/// A source key without the host a filesystem key names (`fs:HOST:paths`): a backup made with
/// `--host web1` before kloset put the recorded host there was keyed by the machine's name.
fn split_key(key: &str) -> (String, Option<&str>) {
    let mut parts = key.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("fs"), Some(host), Some(rest)) => (format!("fs:{rest}"), Some(host)),
        _ => (key.to_string(), None),
    }
}

pub fn host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::split_key;

    #[test]
    fn a_filesystem_key_is_compared_without_its_host() {
        assert_eq!(
            split_key("fs:vm:/srv /etc"),
            ("fs:/srv /etc".into(), Some("vm"))
        );
        assert_eq!(
            split_key("fs:web1:/srv /etc").0,
            split_key("fs:vm:/srv /etc").0
        );
        assert_eq!(
            split_key("s3:host:9000/bucket"),
            ("s3:host:9000/bucket".into(), None)
        );
    }
}
