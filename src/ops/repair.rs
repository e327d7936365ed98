//! `kloset repair index`: packs that no readable index file names are indexed again from their
//! own headers, and index files that do not open are removed. New index files are written
//! before anything is removed, so an interrupted repair loses nothing. A pack that cannot be
//! reached (a timeout, access denied, a frozen object) stops the repair: only damage found in
//! what was read counts as damage. A damaged index file is removed only when every pack no
//! readable index names was read: otherwise it may be the only record of a pack's blobs.

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
    for chunk in entries.chunks(PACKS_PER_INDEX) {
        repo.write_index(&IndexFile {
            packs: chunk.to_vec(),
        })
        .await?;
    }
    crate::kill_point::here("repair:indexed");
    let damaged: Vec<String> = repo
        .health()
        .damaged_index
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    let removable = removable(&damaged, unreadable.len());
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

/// The damaged index files that may go: all of them once every unnamed pack was read, else
/// none.
fn removable(damaged: &[String], unreadable: usize) -> &[String] {
    match unreadable {
        0 => damaged,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_index_files_stay_while_a_pack_could_not_be_read() {
        let damaged = vec!["index/a".to_string(), "index/b".to_string()];
        assert_eq!(removable(&damaged, 0).len(), 2);
        assert!(removable(&damaged, 1).is_empty());
        assert!(removable(&[], 0).is_empty());
    }
}
