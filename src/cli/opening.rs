//! Opening a store for a command: its passphrase, its index when needed, and which snapshots
//! the command's filter selects.

use anyhow::Result;

use super::Ctx;
use crate::connectors::{self, Spec};
use crate::passphrase::PassphraseSource;
use crate::repo::{IndexedRepo, Repo};

pub(super) fn passphrase(ctx: &Ctx, spec: &Spec) -> PassphraseSource {
    PassphraseSource {
        keyfile: ctx.keyfile.clone(),
        passphrase: spec.option("passphrase").map(str::to_string),
        passphrase_cmd: spec.option("passphrase_cmd").map(str::to_string),
        other: false,
    }
}

/// The second store of `sync` or `create --like`, with its own passphrase.
pub(super) async fn open_other(spec: &Spec, keyfile: Option<std::path::PathBuf>) -> Result<Repo> {
    let backend = connectors::open_store(spec, false).await?;
    Repo::read_config(&backend).await?;
    let source = PassphraseSource {
        keyfile,
        passphrase: spec.option("passphrase").map(str::to_string),
        passphrase_cmd: spec.option("passphrase_cmd").map(str::to_string),
        other: true,
    };
    Repo::open(backend, &source.get(false)?).await
}

/// A store to commit to: the writer's lease is taken before the index is loaded (FORMAT.md,
/// "Leases"); `op` None (a dry run) takes none.
pub(super) async fn open_writer(ctx: &Ctx, spec: &Spec, op: Option<&str>) -> Result<IndexedRepo> {
    open_writer_for(ctx, spec, op, false).await
}

/// `histories`: the snapshots to write may hold S3 key histories (FORMAT.md, versions).
pub(super) async fn open_writer_for(
    ctx: &Ctx,
    spec: &Spec,
    op: Option<&str>,
    histories: bool,
) -> Result<IndexedRepo> {
    let mut repo = open(ctx, spec).await?;
    if histories && op.is_some() {
        repo.allow_histories().await?;
    }
    if let Some(op) = op {
        repo.take_lease(op).await?;
    }
    repo.load_index().await
}

/// Enough to list snapshots.
pub(super) async fn open(ctx: &Ctx, spec: &Spec) -> Result<Repo> {
    open_as(ctx, spec, false).await
}

/// Enough to read them.
pub(super) async fn open_indexed(ctx: &Ctx, spec: &Spec) -> Result<IndexedRepo> {
    open(ctx, spec).await?.load_index().await
}

/// `from_store`: read metadata from the store itself, not the local cache (checks).
pub(super) async fn open_as(ctx: &Ctx, spec: &Spec, from_store: bool) -> Result<Repo> {
    let backend = connectors::open_store(spec, false).await?;
    // Fail on a missing or unreachable store before asking for a passphrase.
    Repo::read_config(&backend).await?;
    let pass = passphrase(ctx, spec).get(false)?;
    let mut repo = Repo::open(backend, &pass).await?;
    if from_store {
        repo.bypass_cache();
    }
    Ok(repo)
}

pub(super) fn snapshot_filter(a: crate::cli::args::SnapshotFilter) -> crate::ops::forget::Filter {
    crate::ops::forget::Filter {
        host: a.host,
        tags: a.tags,
        source: a.source,
    }
}
