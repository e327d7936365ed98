//! `kloset check`: every indexed pack exists, every snapshot's trees load and every blob they
//! name is indexed; with `--read-data`, every blob is downloaded, decrypted and re-hashed.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use futures::{stream, StreamExt};

use crate::repo::id::Id;
use crate::repo::tree::NodeKind;
use crate::repo::walk::{Visit, WalkOptions};
use crate::repo::{open_blob, BlobRef, Repo};

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
        .stored_packs()
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let indexed: HashSet<String> = repo.indexed_pack_keys().into_iter().collect();
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
    let roots = snapshots
        .iter()
        .map(|(_, s)| (Vec::new(), s.tree))
        .collect();
    let mut trees: HashSet<Id> = snapshots.iter().map(|(_, s)| s.tree).collect();
    let opts = WalkOptions {
        once: true,
        tolerate: true,
    };
    let problems = &mut report.problems;
    repo.walk(roots, opts, |v| match v {
        Visit::Broken { tree, error, .. } => {
            problems.push(format!("tree {}: {error:#}", tree.short()));
            false
        }
        Visit::Node { node, .. } => {
            if node.kind == NodeKind::Dir {
                trees.extend(node.subtree);
            }
            for blob in &node.content {
                if !repo.has_blob(blob) {
                    problems.push(format!(
                        "blob {} of '{}' is not in the index",
                        blob.short(),
                        node.name
                    ));
                }
            }
            true
        }
    })
    .await?;
    report.trees = trees.len();

    if read_data {
        let mut by_pack: HashMap<u32, Vec<(Id, BlobRef)>> = HashMap::new();
        for (id, loc) in repo.blobs() {
            by_pack.entry(loc.pack).or_default().push((id, loc));
        }
        let results: Vec<Vec<String>> = stream::iter(by_pack)
            .map(|(pack, blobs)| async move {
                let key = repo.pack_key_of(pack);
                let ranges: Vec<_> = blobs.iter().map(|(_, l)| l.range()).collect();
                let data = match repo.read_pack_ranges(pack, &ranges).await {
                    Ok(d) => d,
                    Err(e) => return vec![format!("pack {key}: {e}")],
                };
                let keys = repo.keys().clone();
                let pack_name = key.clone();
                tokio::task::spawn_blocking(move || {
                    blobs
                        .iter()
                        .zip(data)
                        .filter_map(|((id, _), sealed)| {
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
        report.blobs_read = repo.blob_count();
        report.problems.extend(results.into_iter().flatten());
    }
    Ok(report)
}
