//! Every blob some snapshots need: their root trees, subtrees, the pages of paged trees and
//! file contents (every version's, for S3 histories). Prune keeps what this finds; stats
//! counts it; tag and rewrite name the packs of it when they commit.

use std::collections::HashSet;

use anyhow::Result;

use crate::repo::id::Id;
use crate::repo::walk::{Visit, WalkOptions};
use crate::repo::IndexedRepo;

/// Calls `found` with every blob the trees `roots` need, each tree walked once however many
/// snapshots share it (a blob may be given more than once).
pub async fn used_blobs(
    repo: &IndexedRepo,
    roots: impl IntoIterator<Item = Id>,
    found: impl FnMut(Id),
) -> Result<()> {
    used_blobs_but(repo, roots, |_| false, found).await
}

/// Like `used_blobs`, leaving out the blobs `known` says yes to, and never entering a tree it
/// says yes to: what such a tree needs is known too (a tree's id covers its contents), so
/// only what differs is walked.
pub async fn used_blobs_but(
    repo: &IndexedRepo,
    roots: impl IntoIterator<Item = Id>,
    known: impl Fn(&Id) -> bool,
    mut found: impl FnMut(Id),
) -> Result<()> {
    let roots: Vec<(Vec<u8>, Id)> = roots
        .into_iter()
        .filter(|t| !known(t))
        .map(|t| (b"/".to_vec(), t))
        .collect();
    for (_, t) in &roots {
        found(*t);
    }
    let opts = WalkOptions {
        once: true,
        tolerate: false,
    };
    repo.walk(roots, opts, |v| match v {
        Visit::Node { node, .. } => {
            node.blobs().filter(|b| !known(b)).for_each(|b| found(*b));
            match node.subtree {
                Some(sub) if !known(&sub) => {
                    found(sub);
                    true
                }
                _ => false,
            }
        }
        // A paged tree's pages are needed like the head whose id its parent names.
        Visit::Pages { pages, .. } => {
            pages.iter().filter(|p| !known(p)).for_each(|p| found(*p));
            true
        }
        Visit::Broken { .. } => false,
    })
    .await
}

/// The packs (by number in the loaded index) holding what the trees `roots` need: what a
/// commit of a snapshot made of them reuses.
pub async fn packs_of(repo: &IndexedRepo, roots: impl IntoIterator<Item = Id>) -> Result<Vec<u32>> {
    let mut packs = HashSet::new();
    let mut missing = 0u64;
    used_blobs(repo, roots, |b| match repo.usable_blob(&b) {
        Some(p) => {
            packs.insert(p);
        }
        None => missing += 1,
    })
    .await?;
    if missing > 0 {
        return Err(crate::error::KlosetError::Integrity(format!(
            "{missing} blobs these snapshots need are not stored where they can be used: run 'kloset check'"
        ))
        .into());
    }
    let mut packs: Vec<u32> = packs.into_iter().collect();
    packs.sort_unstable();
    Ok(packs)
}
