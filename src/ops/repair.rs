//! `kloset repair index`: packs that no readable index file names are indexed again from their
//! own headers, and index files that do not open are removed. New index files are written
//! before anything is removed, so an interrupted repair loses nothing.

use anyhow::Result;

use crate::repo::index::IndexFile;
use crate::repo::Repo;

/// Packs per new index file, as a backup writes them.
const PACKS_PER_INDEX: usize = 64;

pub struct RepairOutcome {
    pub packs: usize,
    pub removed: usize,
    /// Stored packs whose header could not be read (damaged or still being written).
    pub unreadable: usize,
}

pub async fn index(repo: &Repo) -> Result<RepairOutcome> {
    let unnamed = repo.unindexed_packs().await?;
    let entries = repo.headers_of(unnamed.clone()).await;
    for chunk in entries.chunks(PACKS_PER_INDEX) {
        repo.write_index(&IndexFile {
            packs: chunk.to_vec(),
        })
        .await?;
    }
    let damaged: Vec<String> = repo
        .health()
        .damaged_index
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    for key in &damaged {
        repo.delete_index_file(key).await?;
    }
    Ok(RepairOutcome {
        packs: entries.len(),
        removed: damaged.len(),
        unreadable: unnamed.len() - entries.len(),
    })
}
