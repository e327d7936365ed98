//! Prune: delete the packs no snapshot needs, repack partly used ones, compact the index.
//! Lock-free towards backups, in two phases (FORMAT.md, "Prune"): a pack is first marked
//! retiring, which makes backups save its blobs anew instead of referring to them, and is
//! deleted only by a prune that runs after the delete delay, and only if no snapshot committed
//! meanwhile needs it (else the mark is withdrawn). Two prunes never run at once.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::{Duration, Utc};
use serde::Serialize;

use crate::error::KlosetError;
use crate::kill_point;
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::index::{pack_key, BlobKind, IndexFile, PackEntry};
use crate::repo::pack::PackBuilder;
use crate::repo::walk::{Visit, WalkOptions};
use crate::repo::{open_blob, Repo};

/// Index files written by prune hold at most this many blobs each.
const BLOBS_PER_INDEX_FILE: usize = 200_000;
/// Packs no index names may be a running backup's uploads: they are left this long at least.
const UNINDEXED_GRACE_HOURS: i64 = 6;

pub struct PruneOptions {
    pub dry_run: bool,
    /// Unused space allowed to remain in partly used packs, as a fraction of the store.
    pub max_unused: f64,
    /// Bytes of packs repacked in one run, at most.
    pub max_repack: u64,
    /// How long a pack stays marked before a prune may delete it: longer than any backup.
    pub delete_delay: Duration,
    pub quiet: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub snapshots: usize,
    pub packs: usize,
    pub stored_bytes: u64,
    pub unused_bytes: u64,
    pub packs_deleted: usize,
    pub packs_marked: usize,
    pub packs_repacked: usize,
    pub packs_written: usize,
    pub packs_recovered: usize,
    pub packs_waiting: usize,
    pub unindexed_deleted: usize,
    pub bytes_freed: u64,
    pub index_files_before: usize,
    pub index_files_after: usize,
    /// Object Lock: packs due for deletion kept because they (or an index file naming them)
    /// are still retained; a later prune deletes them once the retention ends.
    pub packs_retained: usize,
    /// Object Lock: objects in use whose retention was extended by a period.
    pub retention_extended: usize,
    /// Partly used packs left as they are: the store's storage class archives data packs.
    pub repack_skipped_cold: bool,
}

/// Runs one prune on a repo opened without its index.
pub async fn prune(repo: &mut Repo, opts: &PruneOptions) -> Result<PruneReport> {
    // Snapshots first, then the index: a backup writes its index files before its snapshot,
    // so every snapshot listed here finds its blobs in the index loaded after. Snapshots
    // committed later are protected by the marks (see the module comment).
    let list = repo.snapshot_list().await?;
    repo.load_index().await?;
    let repo = &*repo;
    let health = repo.health();
    if !health.damaged_index.is_empty() {
        return Err(KlosetError::Usage(
            "some index files do not open: run 'kloset repair index' before prune".into(),
        )
        .into());
    }
    let Some(mut lock) = repo.lock_prune().await? else {
        return Err(KlosetError::Usage(
            "another prune is running on this store: wait for it to finish (a dead one's lock expires after 30 minutes)".into(),
        )
        .into());
    };
    let progress = Progress::new(opts.quiet, "prune", None);
    let outcome = run(repo, opts, list, &mut lock, &progress).await;
    progress.finish();
    let released = lock.release(repo).await;
    let report = outcome?;
    released?;
    Ok(report)
}

async fn run(
    repo: &Repo,
    opts: &PruneOptions,
    list: crate::repo::load::SnapshotList,
    lock: &mut crate::repo::maintenance::PruneLock,
    progress: &Progress,
) -> Result<PruneReport> {
    progress.set_message("finding the blobs snapshots use".into());
    if let Some((id, why)) = list.damaged.first() {
        return Err(KlosetError::Usage(format!(
            "snapshot {} does not open ({why}): prune cannot tell what it needs; remove it with 'kloset rm {}' first",
            id.short(),
            id.short()
        ))
        .into());
    }
    let used = used_blobs(repo, &list.good).await?;
    let now = repo.now();
    let entries = repo.pack_entries();
    let damaged: HashSet<Id> = health_bad_packs(repo);
    let mut report = PruneReport {
        dry_run: opts.dry_run,
        snapshots: list.good.len(),
        packs: entries.len(),
        index_files_before: repo.index_keys().len(),
        ..Default::default()
    };
    let mut keep: Vec<PackEntry> = Vec::new();
    // Packs to delete in this run, and packs to mark (kept whole in the index meanwhile: a
    // backup running now may still refer to their blobs).
    let mut delete: Vec<(PackEntry, u64)> = Vec::new();
    let mut retire: Vec<(PackEntry, u64)> = Vec::new();
    let mut recover: Vec<Id> = Vec::new();
    let mut partly: Vec<(PackEntry, u64, u64)> = Vec::new();
    for entry in entries {
        let size = pack_size(&entry);
        report.stored_bytes += size;
        if damaged.contains(&entry.id) {
            keep.push(entry);
            continue;
        }
        let needed = entry.blobs.iter().filter(|b| used.contains(&b.id)).count();
        let used_bytes: u64 = entry
            .blobs
            .iter()
            .filter(|b| used.contains(&b.id))
            .map(|b| b.length as u64)
            .sum();
        if let Some(marked) = repo.retiring().get(&entry.id) {
            if needed > 0 {
                recover.push(entry.id);
                keep.push(entry);
            } else if *marked + opts.delete_delay <= now {
                delete.push((entry, size));
            } else {
                report.packs_waiting += 1;
                keep.push(entry);
            }
            continue;
        }
        if needed == 0 {
            retire.push((entry, size));
            report.unused_bytes += size;
        } else if used_bytes < size {
            report.unused_bytes += size - used_bytes;
            partly.push((entry, size, used_bytes));
        } else {
            keep.push(entry);
        }
    }
    // Repack the emptiest packs until what stays unused is within the allowance.
    partly.sort_by(|a, b| {
        let free = |p: &(PackEntry, u64, u64)| (p.1 - p.2) as f64 / p.1.max(1) as f64;
        free(b).total_cmp(&free(a))
    });
    let allowed = (opts.max_unused * report.stored_bytes as f64) as u64;
    // Repacking reads data packs, which an archive storage class keeps frozen: on such a
    // store only wholly unused packs go.
    let max_repack = match repo.has_cold_storage() {
        true => 0,
        false => opts.max_repack,
    };
    report.repack_skipped_cold = repo.has_cold_storage() && !partly.is_empty();
    let mut unused_left = partly.iter().map(|p| p.1 - p.2).sum::<u64>();
    let mut repack: Vec<PackEntry> = Vec::new();
    let mut repack_bytes = 0u64;
    for (entry, size, used_bytes) in partly {
        if unused_left > allowed && repack_bytes + size <= max_repack {
            unused_left -= size - used_bytes;
            repack_bytes += size;
            repack.push(entry.clone());
            retire.push((entry, size));
        } else {
            keep.push(entry);
        }
    }
    report.packs_repacked = repack.len();
    report.packs_recovered = recover.len();
    if opts.dry_run {
        if opts.delete_delay <= Duration::zero() {
            delete.append(&mut retire);
        }
        report.packs_marked = retire.len();
        report.bytes_freed = delete.iter().map(|d| d.1).sum();
        report.packs_deleted = delete.len();
        return Ok(report);
    }
    lock.renew(repo).await?;
    // 1. Copies first: the blobs still needed from packs about to retire.
    progress.set_message(format!("repacking {} packs", repack.len()));
    let written = copy_needed(repo, &repack, &used, progress).await?;
    kill_point::here("prune:copied");
    report.packs_written = written.len();
    if !written.is_empty() {
        repo.write_index(&IndexFile {
            packs: written.clone(),
        })
        .await?;
    }
    for id in &recover {
        repo.unmark_retiring(id).await?;
    }
    // 2. Marks: from here backups save these packs' blobs anew.
    for (entry, _) in &retire {
        repo.mark_retiring(&entry.id, now).await?;
    }
    kill_point::here("prune:marked");
    if opts.delete_delay <= Duration::zero() {
        delete.append(&mut retire);
    } else {
        report.packs_marked = retire.len();
        keep.extend(retire.into_iter().map(|(entry, _)| entry));
    }
    // Object Lock: nothing still retained is deleted, nor any pack a retained index file
    // names (that file stays, and an index never names a pack that is gone).
    let retained_index = repo.still_retained(repo.index_keys()).await?;
    let mut blocked: HashSet<Id> = retained_index
        .iter()
        .flat_map(|k| repo.packs_named_by(k).iter().copied())
        .collect();
    let pack_keys: Vec<String> = delete.iter().map(|(e, _)| pack_key(&e.id)).collect();
    let retained_packs = repo.still_retained(&pack_keys).await?;
    blocked.extend(
        delete
            .iter()
            .filter(|(e, _)| retained_packs.contains(&pack_key(&e.id)))
            .map(|(e, _)| e.id),
    );
    let (held, go): (Vec<_>, Vec<_>) = delete
        .into_iter()
        .partition(|(e, _)| blocked.contains(&e.id));
    report.packs_retained = held.len();
    keep.extend(held.into_iter().map(|(entry, _)| entry));
    let delete = go;
    lock.renew(repo).await?;
    // 3. A compacted index without the packs about to go, then the old index files.
    progress.set_message("writing the index".into());
    keep.extend(written);
    let deleting: HashSet<Id> = delete.iter().map(|d| d.0.id).collect();
    keep.retain(|e| !deleting.contains(&e.id));
    let files = compact(keep);
    report.index_files_after = files.len();
    for file in &files {
        repo.write_index(file).await?;
    }
    kill_point::here("prune:index-written");
    for key in repo.index_keys() {
        if !retained_index.contains(key) {
            repo.delete_index_file(key).await?;
        }
    }
    kill_point::here("prune:old-index-deleted");
    // 4. Only now the packs: an index never names a pack that is gone.
    progress.set_message(format!("deleting {} packs", delete.len()));
    for (entry, size) in &delete {
        repo.delete_pack(&entry.id).await?;
        report.bytes_freed += size;
        kill_point::here("prune:pack-deleted");
    }
    report.packs_deleted = delete.len();
    // Uploads of interrupted backups and prunes that no index names.
    let indexed: HashSet<Id> = files
        .iter()
        .flat_map(|f| f.packs.iter().map(|p| p.id))
        .collect();
    let grace = opts
        .delete_delay
        .max(Duration::hours(UNINDEXED_GRACE_HOURS));
    let unindexed: Vec<(Id, u64)> = repo
        .stored_packs_with_time()
        .await?
        .into_iter()
        .filter(|(id, _, at)| {
            !indexed.contains(id)
                && !deleting.contains(id)
                && !blocked.contains(id)
                && *at + grace <= now
        })
        .map(|(id, size, _)| (id, size))
        .collect();
    let keys: Vec<String> = unindexed.iter().map(|(id, _)| pack_key(id)).collect();
    let retained = repo.still_retained(&keys).await?;
    for (id, size) in unindexed {
        if !retained.contains(&pack_key(&id)) {
            repo.delete_pack(&id).await?;
            report.unindexed_deleted += 1;
            report.bytes_freed += size;
        }
    }
    // Object Lock: what the store still needs stays protected for another period.
    if repo.backend_has_lock() {
        progress.set_message("extending Object Lock retention".into());
        let mut in_use: Vec<String> = indexed.iter().map(pack_key).collect();
        in_use.extend(repo.protected_keys().await?);
        report.retention_extended = repo.extend_retention(&in_use).await?;
    }
    Ok(report)
}

/// Every blob any snapshot refers to: root trees, subtrees and file contents.
async fn used_blobs(
    repo: &Repo,
    snapshots: &[(Id, crate::repo::snapshot::Snapshot)],
) -> Result<HashSet<Id>> {
    let mut used: HashSet<Id> = snapshots.iter().map(|(_, s)| s.tree).collect();
    let roots = snapshots
        .iter()
        .map(|(_, s)| (b"/".to_vec(), s.tree))
        .collect();
    repo.walk(
        roots,
        WalkOptions {
            once: true,
            tolerate: false,
        },
        |v| {
            if let Visit::Node { node, .. } = v {
                used.extend(node.content.iter().copied());
                if let Some(sub) = node.subtree {
                    used.insert(sub);
                }
            }
            true
        },
    )
    .await?;
    Ok(used)
}

fn health_bad_packs(repo: &Repo) -> HashSet<Id> {
    let h = repo.health();
    h.missing_packs
        .iter()
        .copied()
        .chain(h.damaged_packs.iter().map(|(id, _)| *id))
        .collect()
}

/// A pack's size as the index knows it: the end of its last blob (the header adds a little).
fn pack_size(entry: &PackEntry) -> u64 {
    entry
        .blobs
        .iter()
        .map(|b| b.offset as u64 + b.length as u64)
        .max()
        .unwrap_or(0)
}

/// Copies the needed blobs of `packs` into new packs, sealed bytes as they are (each is
/// opened and checked first: a damaged blob is not carried over).
async fn copy_needed(
    repo: &Repo,
    packs: &[PackEntry],
    used: &HashSet<Id>,
    progress: &Progress,
) -> Result<Vec<PackEntry>> {
    let pack_size = repo.config().pack_size as usize;
    let mut builders: HashMap<BlobKind, PackBuilder> = HashMap::new();
    let mut written = Vec::new();
    for entry in packs {
        let blobs: Vec<_> = entry
            .blobs
            .iter()
            .filter(|b| used.contains(&b.id))
            .collect();
        let Some(number) = repo.blob(&blobs[0].id).map(|l| l.pack) else {
            continue;
        };
        let ranges: Vec<_> = blobs
            .iter()
            .map(|b| b.offset as u64..(b.offset + b.length) as u64)
            .collect();
        let data = repo.read_pack_ranges(number, &ranges).await?;
        for (b, sealed) in blobs.iter().zip(data) {
            open_blob(repo.keys(), &b.id, &sealed)?;
            progress.add_bytes(sealed.len() as u64);
            let builder = builders.entry(b.kind).or_default();
            builder.add(b.id, b.kind, &sealed, b.raw_length as usize);
            if builder.len() >= pack_size {
                let full = std::mem::take(builder).finish(repo.keys());
                repo.save_pack(&full.entry, full.bytes).await?;
                written.push(full.entry);
            }
        }
    }
    for (_, builder) in builders {
        if !builder.is_empty() {
            let done = builder.finish(repo.keys());
            repo.save_pack(&done.entry, done.bytes).await?;
            written.push(done.entry);
        }
    }
    Ok(written)
}

/// Few index files instead of one per backup.
fn compact(entries: Vec<PackEntry>) -> Vec<IndexFile> {
    let mut files = Vec::new();
    let mut current = IndexFile::default();
    let mut blobs = 0;
    for e in entries {
        blobs += e.blobs.len().max(1);
        current.packs.push(e);
        if blobs >= BLOBS_PER_INDEX_FILE {
            files.push(std::mem::take(&mut current));
            blobs = 0;
        }
    }
    if !current.packs.is_empty() {
        files.push(current);
    }
    files
}
