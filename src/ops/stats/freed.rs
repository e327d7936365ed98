//! What a prune would free once some snapshots are gone: the blobs only they need.

use std::collections::HashSet;

use anyhow::Result;

use super::tally::BlobTally;
use crate::error::KlosetError;
use crate::repo::id::Id;
use crate::repo::Repo;

/// What a prune could reclaim: the blobs only removed snapshots need, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Freed {
    pub bytes: u64,
    pub blobs: u64,
}

/// For `forget --dry-run`: the blobs the snapshots `removed` need that no other snapshot of the
/// store does. Snapshots are listed before the index is loaded, as prune does, so every one
/// listed finds its blobs. An estimate: a prune frees whole packs, and partly used ones only
/// when it repacks them.
pub async fn would_free(repo: Repo, removed: &HashSet<Id>) -> Result<Freed> {
    if removed.is_empty() {
        return Ok(Freed::default());
    }
    let (list, repo) = repo.snapshots_then_index().await?;
    if let Some((id, why)) = list.damaged.first() {
        return Err(KlosetError::Usage(format!(
            "snapshot {} does not open ({why}), so what it needs is unknown",
            id.short()
        ))
        .into());
    }
    let (gone, kept): (Vec<_>, Vec<_>) = list.good.iter().partition(|(id, _)| removed.contains(id));
    let mut needed = repo.blob_set();
    crate::ops::reach::used_blobs(&repo, kept.iter().map(|(_, s)| s.tree), |b| {
        needed.insert(b);
    })
    .await?;
    let mut seen = repo.blob_set();
    let mut tally = BlobTally::default();
    let roots: Vec<Id> = gone.iter().map(|(_, s)| s.tree).collect();
    crate::ops::reach::used_blobs_but(
        &repo,
        roots,
        |b| needed.contains(b),
        |b| {
            if seen.insert(b) {
                tally.add(repo.blob(&b));
            }
        },
    )
    .await?;
    // A blob in no index file is in no pack a prune could delete: it frees nothing.
    Ok(Freed {
        bytes: tally.stored,
        blobs: tally.blobs,
    })
}
