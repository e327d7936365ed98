//! Opening a store for a command: its passphrase, its index when needed, and which snapshots
//! the command's filter selects.

use anyhow::Result;

use super::Ctx;
use crate::connectors::{self, Spec};
use crate::passphrase::PassphraseSource;
use crate::repo::Repo;

pub(super) fn passphrase(ctx: &Ctx, spec: &Spec) -> PassphraseSource {
    PassphraseSource {
        keyfile: ctx.keyfile.clone(),
        passphrase: spec.option("passphrase").map(str::to_string),
        passphrase_cmd: spec.option("passphrase_cmd").map(str::to_string),
        other: false,
    }
}

/// The second store of `sync` or `create --like`, with its own passphrase.
pub(super) async fn open_other(
    spec: &Spec,
    keyfile: Option<std::path::PathBuf>,
    with_index: bool,
) -> Result<Repo> {
    let backend = connectors::open_store(spec, false).await?;
    Repo::read_config(&backend).await?;
    let source = PassphraseSource {
        keyfile,
        passphrase: spec.option("passphrase").map(str::to_string),
        passphrase_cmd: spec.option("passphrase_cmd").map(str::to_string),
        other: true,
    };
    let mut repo = Repo::open(backend, &source.get(false)?).await?;
    if with_index {
        repo.load_index().await?;
    }
    Ok(repo)
}

/// A store to commit to: the writer's lease is taken before the index is loaded (FORMAT.md,
/// "Leases"); `op` None (a dry run) takes none.
pub(super) async fn open_writer(ctx: &Ctx, spec: &Spec, op: Option<&str>) -> Result<Repo> {
    let mut repo = open(ctx, spec, false).await?;
    if let Some(op) = op {
        repo.take_lease(op).await?;
    }
    repo.load_index().await?;
    Ok(repo)
}

pub(super) async fn open(ctx: &Ctx, spec: &Spec, with_index: bool) -> Result<Repo> {
    open_as(ctx, spec, with_index, false).await
}

/// `from_store`: read metadata from the store itself, not the local cache (checks).
pub(super) async fn open_as(
    ctx: &Ctx,
    spec: &Spec,
    with_index: bool,
    from_store: bool,
) -> Result<Repo> {
    let backend = connectors::open_store(spec, false).await?;
    // Fail on a missing or unreachable store before asking for a passphrase.
    Repo::read_config(&backend).await?;
    let pass = passphrase(ctx, spec).get(false)?;
    let mut repo = Repo::open(backend, &pass).await?;
    if from_store {
        repo.bypass_cache();
    }
    if with_index {
        repo.load_index().await?;
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
