//! Packs that no index file names: whether a lost index file hides used blobs in them, and
//! the sweep of those left by interrupted runs.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::select::Spare;
use super::PruneOptions;
use crate::error::KlosetError;
use crate::repo::blob_set::BlobSet;
use crate::repo::id::Id;
use crate::repo::index::pack_key;
use crate::repo::maintenance::PruneLock;
use crate::repo::IndexedRepo;

/// Packs no index names may be an unannounced writer's uploads: they are left this long at
/// least.
pub(super) const UNINDEXED_GRACE_HOURS: i64 = 6;

/// Every blob a snapshot uses is readable from an indexed pack, or the packs no index names
/// cannot hold one either: then they may be swept. A used blob found in such a pack means an
/// index file was lost, and prune stops before it deletes anything.
pub(super) async fn unindexed_hold_nothing_used(
    repo: &IndexedRepo,
    used: &BlobSet<'_>,
    stored: &[(Id, u64, DateTime<Utc>)],
) -> Result<bool> {
    let unreadable: HashSet<Id> = used.iter().filter(|id| !repo.is_readable(id)).collect();
    if unreadable.is_empty() {
        return Ok(true);
    }
    let named: HashSet<Id> = repo.pack_ids().iter().copied().collect();
    let unnamed: Vec<Id> = stored
        .iter()
        .map(|(id, _, _)| *id)
        .filter(|id| !named.contains(id))
        .collect();
    let (found, _) = repo.headers_of(unnamed).await?;
    let held = found
        .iter()
        .flat_map(|p| &p.blobs)
        .filter(|b| unreadable.contains(&b.id))
        .count();
    if held > 0 {
        return Err(KlosetError::NeedsRepair(format!(
            "{held} blobs that snapshots use are in packs no index file names (an index file was lost)"
        ))
        .into());
    }
    // Used blobs that are nowhere: already lost (check names them); nothing unnamed is
    // swept in this run all the same.
    Ok(false)
}

/// Packs no index file names (uploads of interrupted runs), old enough and older than every
/// live writer, not named by an index file written since this prune loaded the index.
pub(super) async fn sweep(
    repo: &IndexedRepo,
    opts: &PruneOptions,
    indexed: &HashSet<Id>,
    skip: &HashSet<Id>,
    spare: Spare,
    lock: &PruneLock,
) -> Result<(usize, u64)> {
    let grace = opts
        .delete_delay
        .max(Duration::hours(UNINDEXED_GRACE_HOURS));
    let now = lock.server_now();
    let spare = spare.and(Spare::of(&repo.live_leases(now).await?));
    let Some(named_since) = repo.packs_named_by_other_index_files().await? else {
        return Ok((0, 0));
    };
    let unindexed: Vec<(Id, u64)> = repo
        .stored_packs_with_time()
        .await?
        .into_iter()
        .filter(|(id, _, at)| {
            !indexed.contains(id)
                && !named_since.contains(id)
                && !skip.contains(id)
                && *at + grace <= now
                && !spare.spares(*at)
        })
        .map(|(id, size, _)| (id, size))
        .collect();
    let keys: Vec<String> = unindexed.iter().map(|(id, _)| pack_key(id)).collect();
    let retained = repo.still_retained(&keys).await?;
    let (mut count, mut bytes) = (0, 0);
    for (id, size) in unindexed {
        if !retained.contains(&pack_key(&id)) {
            repo.delete_pack(&id, &HashMap::new()).await?;
            count += 1;
            bytes += size;
        }
    }
    Ok((count, bytes))
}
