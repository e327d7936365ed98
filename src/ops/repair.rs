//! `kloset repair index`: packs that no readable index file names are indexed again from their
//! own headers, and index files that do not open are removed. New index files are written
//! before anything is removed, so an interrupted repair loses nothing. A pack that cannot be
//! reached (a timeout, access denied, a frozen object) stops the repair before anything is
//! removed: only damage found in what was read counts as damage.

use anyhow::Result;

use crate::repo::index::IndexFile;
use crate::repo::IndexedRepo;

/// Packs per new index file, as a backup writes them.
const PACKS_PER_INDEX: usize = 64;

pub struct RepairOutcome {
    pub packs: usize,
    pub removed: usize,
    /// Stored packs whose header is damaged.
    pub unreadable: usize,
    /// Damaged index files kept because some pack could not be read.
    pub kept: usize,
}

/// Takes the prune lock: a prune sweeping packs no index names must not delete one that this
/// repair is indexing (a writer could reuse it before the sweep).
pub async fn index(repo: &IndexedRepo) -> Result<RepairOutcome> {
    let Some(lock) = repo.lock_prune().await? else {
        return Err(crate::error::KlosetError::Usage(
            "a prune is running on this store: run 'repair index' when it has finished".into(),
        )
        .into());
    };
    let outcome = repair(repo).await;
    let released = lock.release().await;
    let outcome = outcome?;
    released?;
    Ok(outcome)
}

async fn repair(repo: &IndexedRepo) -> Result<RepairOutcome> {
    let unnamed = repo.unindexed_packs().await?;
    let (entries, unreadable) = repo.headers_of(unnamed).await?;
    for file in IndexFile::split(entries.clone(), PACKS_PER_INDEX) {
        repo.write_index(&file).await?;
    }
    crate::kill_point::here("repair:indexed");
    let damaged: Vec<String> = repo
        .health()
        .damaged_index
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    // Packs whose header was read and does not open are damage themselves; only a pack that
    // could not be reached (an error above, which stops the repair) may hold what a damaged
    // index file knew.
    let removable = &damaged[..];
    for key in removable {
        repo.delete_index_file(key).await?;
    }
    Ok(RepairOutcome {
        packs: entries.len(),
        removed: removable.len(),
        unreadable: unreadable.len(),
        kept: damaged.len() - removable.len(),
    })
}
