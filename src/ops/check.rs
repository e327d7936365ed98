//! `kloset check`: every indexed pack exists, every snapshot's trees load and every blob they
//! name is indexed; with `--read-data`, every blob is downloaded, decrypted and re-hashed.

use std::collections::HashSet;

use anyhow::Result;
use futures::{stream, StreamExt};

use crate::repo::id::Id;
use crate::repo::index::pack_key;
use crate::repo::tree::NodeKind;
use crate::repo::{open_blob, Repo};

#[derive(Debug, Default)]
pub struct CheckReport {
    pub snapshots: usize,
    pub trees: usize,
    pub packs: usize,
    pub orphan_packs: usize,
    pub blobs_read: usize,
    pub problems: Vec<String>,
}

pub async fn check(repo: &Repo, read_data: bool, concurrency: usize) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let stored: HashSet<String> = repo
        .backend
        .list("packs")
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let indexed: HashSet<String> = repo.index.pack_ids().iter().map(pack_key).collect();
    report.packs = indexed.len();
    for key in &indexed {
        if !stored.contains(key) {
            report.problems.push(format!(
                "pack {key} is in the index but missing from the store"
            ));
        }
    }
    // Left by interrupted backups; harmless, and reused data is indexed by the next run.
    report.orphan_packs = stored.iter().filter(|k| !indexed.contains(*k)).count();

    let snapshots = repo.snapshots().await?;
    report.snapshots = snapshots.len();
    let mut seen: HashSet<Id> = HashSet::new();
    let mut level: Vec<Id> = snapshots.iter().map(|(_, s)| s.tree).collect();
    while !level.is_empty() {
        let batch: Vec<Id> = level.drain(..).filter(|id| seen.insert(*id)).collect();
        let loaded: Vec<_> = stream::iter(batch)
            .map(|id| async move { (id, repo.load_tree(&id).await) })
            .buffer_unordered(32)
            .collect()
            .await;
        for (id, tree) in loaded {
            report.trees += 1;
            match tree {
                Err(e) => report.problems.push(format!("tree {}: {e}", id.short())),
                Ok(tree) => {
                    for node in tree.nodes {
                        if node.kind == NodeKind::Dir {
                            level.extend(node.subtree);
                        }
                        for blob in &node.content {
                            if !repo.index.contains(blob) {
                                report.problems.push(format!(
                                    "blob {} of '{}' is not in the index",
                                    blob.short(),
                                    node.name
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    if read_data {
        let mut by_pack: std::collections::HashMap<u32, Vec<(Id, u32, u32)>> = Default::default();
        for (id, loc) in repo.index.blobs() {
            by_pack
                .entry(loc.pack)
                .or_default()
                .push((*id, loc.offset, loc.length));
        }
        let results: Vec<Vec<String>> = stream::iter(by_pack)
            .map(|(pack, blobs)| async move {
                let key = pack_key(&repo.index.pack_id(pack));
                let ranges: Vec<_> = blobs
                    .iter()
                    .map(|(_, o, l)| *o as u64..(*o + *l) as u64)
                    .collect();
                let data = match repo.backend.get_ranges(&key, &ranges).await {
                    Ok(d) => d,
                    Err(e) => return vec![format!("pack {key}: {e}")],
                };
                let keys = repo.keys.clone();
                let pack_name = key.clone();
                tokio::task::spawn_blocking(move || {
                    blobs
                        .iter()
                        .zip(data)
                        .filter_map(|((id, _, _), sealed)| {
                            open_blob(&keys, id, &sealed)
                                .err()
                                .map(|e| format!("pack {key}: {e}"))
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_else(|e| vec![format!("pack {pack_name}: {e}")])
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        report.blobs_read = repo.index.blob_count();
        report.problems.extend(results.into_iter().flatten());
    }
    Ok(report)
}
