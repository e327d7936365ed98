//! Backup and restore on whichever kind of source or destination was named: the connectors
//! open it, this picks the one backup or restore to run on it.

use std::sync::Arc;

use anyhow::Result;

use crate::connectors::{self, fs::select::SelectOptions, DestinationKind, SourceKind, Spec};
use crate::ops::backup::{self, BackupOptions, BackupOutcome};
use crate::repo::IndexedRepo;
use crate::restore::planner::{self, RestoreOptions, RestoreRoot, RestoreSummary};

/// Backs `sources` up into `repo` as one snapshot: one source of any kind, or several paths.
pub async fn backup(
    repo: Arc<IndexedRepo>,
    sources: &[Spec],
    select: SelectOptions,
    opts: BackupOptions,
) -> Result<BackupOutcome> {
    match connectors::open_source(sources, select).await? {
        SourceKind::Fs(source) => backup::backup(repo, source, opts).await,
        SourceKind::S3(source) => backup::backup(repo, *source, opts).await,
    }
}

/// Restores `root` into `dest`, whichever kind it is.
pub async fn restore(
    repo: Arc<IndexedRepo>,
    root: RestoreRoot,
    dest: &Spec,
    force: bool,
    mut opts: RestoreOptions,
) -> Result<RestoreSummary> {
    match connectors::open_destination(dest, force)? {
        DestinationKind::Fs(d) => planner::restore(repo, root, &d, opts).await,
        DestinationKind::S3(d) => {
            // S3 throughput comes from parallel requests: at least the destination's own.
            opts.concurrency = opts.concurrency.max(dest.concurrency());
            planner::restore(repo, root, &d, opts).await
        }
    }
}
