//! Prune: delete the packs no snapshot needs, repack partly used ones, compact the index.
//! Lock-free towards backups and syncs, which announce themselves with leases (FORMAT.md,
//! "Prune"): a pack is first marked retiring, which makes writers save its blobs anew instead
//! of referring to them, and is deleted only once its mark is older than the delete delay and
//! than the start of every live lease, and only if no snapshot needs it (else the mark is
//! withdrawn). Every age is the server's. Two prunes never run at once.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::KlosetError;
use crate::kill_point;
use crate::progress::Progress;
use crate::repo::blob_set::BlobSet;
use crate::repo::id::Id;
use crate::repo::index::{pack_key, IndexSplitter, PackEntry};
use crate::repo::lease::LiveLease;
use crate::repo::maintenance::{AuthenticMarks, PruneLock};
use crate::repo::packer::PackWriter;
use crate::repo::{open_blob, IndexedRepo, Repo};

mod select;
mod sweep;

use select::{choose_repack, may_delete, pack_size, select, Rules, Selection, Spare};
use sweep::{sweep, unindexed_hold_nothing_used};

/// Repacks upload this many packs at once.
const REPACK_UPLOADS: usize = 4;
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
    /// Control objects without a valid MAC and what prune did with them, one line each
    /// (FORMAT.md, "Control objects").
    pub unauthenticated: Vec<String>,
}

/// Runs one prune on a repo opened without its index.
pub async fn prune(repo: Repo, opts: &PruneOptions) -> Result<PruneReport> {
    // The lock first: nothing is read before this prune may act on it.
    let Some(lock) = repo.lock_prune().await? else {
        return Err(KlosetError::Usage(
            "another prune is running on this store: wait for it to finish (a dead one's lock expires after 30 minutes)".into(),
        )
        .into());
    };
    let progress = Progress::new(opts.quiet, "prune", None);
    let outcome = run(repo, opts, &lock, &progress).await;
    progress.finish();
    let released = lock.release().await;
    let report = outcome?;
    released?;
    Ok(report)
}

async fn run(
    repo: Repo,
    opts: &PruneOptions,
    lock: &PruneLock,
    progress: &Progress,
) -> Result<PruneReport> {
    // Leases, then snapshots, then the index (FORMAT.md): a writer that commits after the
    // snapshot listing either is among these leases or took its lease after this listing.
    let leases = repo.live_leases(lock.server_now()).await?;
    let spare_listed = Spare::of(&leases);
    let mut unauthenticated = unauthenticated_lines(lock, &leases);
    let (list, repo) = repo.snapshots_then_index().await?;
    let repo = &repo;
    if !repo.health().damaged_index.is_empty() {
        return Err(KlosetError::NeedsRepair("some index files do not open".into()).into());
    }
    progress.set_message("finding the blobs snapshots use".into());
    if let Some((id, why)) = list.damaged.first() {
        return Err(KlosetError::Usage(format!(
            "snapshot {} does not open ({why}): prune cannot tell what it needs; remove it with 'kloset rm {}' first",
            id.short(),
            id.short()
        ))
        .into());
    }
    let mut used = repo.blob_set();
    add_used_blobs(repo, &list.good, &mut used).await?;
    let stored = repo.stored_packs_with_time().await?;
    let sweep_unindexed = unindexed_hold_nothing_used(repo, &used, &stored).await?;
    let pack_time: HashMap<Id, DateTime<Utc>> = stored.iter().map(|(id, _, t)| (*id, *t)).collect();
    let now = lock.server_now();
    let damaged: HashSet<Id> = health_bad_packs(repo);
    // Only marks with a valid MAC decide anything here; a pack with none is judged as unmarked.
    let AuthenticMarks {
        marks: authentic,
        unauthenticated: forged_marks,
    } = repo.authentic_marks().await?;
    let mut report = PruneReport {
        dry_run: opts.dry_run,
        snapshots: list.good.len(),
        index_files_before: repo.index_keys().len(),
        ..Default::default()
    };
    let rules = Rules {
        used: &used,
        damaged: &damaged,
        marks: &authentic,
        pack_time: &pack_time,
        now,
        delay: opts.delete_delay,
        spare: spare_listed,
    };
    let Selection {
        mut keep,
        mut candidates,
        mut retire,
        recover,
        partly,
        waiting,
        unused_bytes,
        packs,
        stored_bytes,
    } = select(repo.pack_entries_each(), &rules);
    report.packs = packs;
    report.stored_bytes = stored_bytes;
    report.packs_waiting = waiting;
    report.unused_bytes = unused_bytes;
    let allowed = (opts.max_unused * report.stored_bytes as f64) as u64;
    // Repacking reads data packs, which an archive storage class keeps frozen: on such a
    // store only wholly unused packs go.
    let max_repack = match repo.has_cold_storage() {
        true => 0,
        false => opts.max_repack,
    };
    report.repack_skipped_cold = repo.has_cold_storage() && !partly.is_empty();
    let (repack, stays) = choose_repack(partly, allowed, max_repack);
    keep.extend(stays);
    // The chosen packs' entries, read from the index again (one pass, only when there are any).
    let repack: Vec<PackEntry> = match repack.is_empty() {
        true => Vec::new(),
        false => {
            let chosen: HashSet<Id> = repack.into_iter().collect();
            repo.pack_entries_each()
                .filter(|e| chosen.contains(&e.id))
                .collect()
        }
    };
    retire.extend(repack.iter().map(|e| (e.clone(), pack_size(e))));
    report.packs_repacked = repack.len();
    report.packs_recovered = recover.len();
    if opts.dry_run {
        unauthenticated.extend(
            forged_marks
                .iter()
                .map(|k| format!("{k}: a mark without a valid MAC, would be removed")),
        );
        unauthenticated.extend(
            repo.health()
                .unauthenticated_damage
                .iter()
                .map(|k| format!("{k}: a damage record without a valid MAC, would be removed")),
        );
        report.unauthenticated = unauthenticated;
        let mut delete: Vec<u64> = candidates.iter().map(|c| c.1).collect();
        if may_delete(now, now, opts.delete_delay, spare_listed) {
            delete.extend(retire.iter().map(|r| r.1));
            retire.clear();
        }
        report.packs_marked = retire.len();
        report.bytes_freed = delete.iter().sum();
        report.packs_deleted = delete.len();
        return Ok(report);
    }
    // 1. Copies first: the blobs still needed from packs about to retire, indexed.
    progress.set_message(format!("repacking {} packs", repack.len()));
    let written = copy_needed(repo, &repack, &used, progress).await?;
    kill_point::here("prune:copied");
    report.packs_written = written.len();
    for id in &recover {
        repo.unmark_retiring(id, &authentic).await?;
    }
    // 2. Marks: from here writers save these packs' blobs anew.
    let fresh: HashSet<Id> = retire.iter().map(|(e, _)| e.id).collect();
    for (entry, _) in &retire {
        repo.mark_retiring(&entry.id, lock.server_now()).await?;
    }
    kill_point::here("prune:marked");
    // Marks and damage records without a MAC are junk: removed, after this prune's own marks
    // are written (a writer then still sees those packs as marked). Not while a lock without
    // a MAC looks live: that may be a prune of an older kloset, acting on marks like these.
    if lock.unauthenticated().is_empty() {
        repo.remove_marks(&forged_marks).await?;
        unauthenticated.extend(
            forged_marks
                .iter()
                .map(|k| format!("{k}: a mark without a valid MAC, removed")),
        );
    }
    // Damage records without a MAC may be an older kloset's real ones: left for
    // `check --read-data`, which reads those packs and clears or signs the record.
    unauthenticated.extend(repo.health().unauthenticated_damage.iter().map(|k| {
        format!("{k}: a damage record without a valid MAC, left for 'check --read-data'")
    }));
    // Each mark is dated by the server's own time of it, read back, never by a time taken
    // before it was written (a slow put lands after a writer may have started), and never
    // earlier than now: what a lagging listing does not show yet is as new as can be.
    let after_marks = lock.server_now();
    let mut marks = repo.current_marks().await?;
    for (mark_of, at) in marks.iter_mut().map(|(id, m)| (id, &mut m.at)) {
        if fresh.contains(mark_of) {
            *at = (*at).max(after_marks);
        }
    }
    for (entry, size) in retire {
        let at = marks.get(&entry.id).map_or(after_marks, |m| m.at);
        candidates.push((entry, size, at));
    }
    // 3. Who may still refer to the candidates: writers live now (listed after the marks),
    // then snapshots committed since the first listing (a writer releases its lease only
    // after its commit, so one not seen live here has committed by now).
    let now = lock.server_now();
    let spare = spare_listed.and(Spare::of(&repo.live_leases(now).await?));
    report.unauthenticated = unauthenticated;
    let listed: HashSet<Id> = list.good.iter().map(|(id, _)| *id).collect();
    let relisted = repo.snapshot_list().await?;
    let newer_damaged = relisted.damaged.iter().any(|(id, _)| !listed.contains(id));
    let newer: Vec<_> = relisted
        .good
        .into_iter()
        .filter(|(id, _)| !listed.contains(id))
        .collect();
    // A snapshot committed meanwhile whose trees this index cannot walk: nothing is deleted in
    // this run (the marks stay; a later prune decides).
    let settled = match add_used_blobs(repo, &newer, &mut used).await {
        Ok(()) => !newer_damaged,
        Err(_) => false,
    };
    // Blobs now also in the copies just written: a repacked pack no longer holds their only
    // copy.
    let copied: HashSet<Id> = written
        .iter()
        .flat_map(|p| p.blobs.iter().map(|b| b.id))
        .collect();
    let mut delete: Vec<(PackEntry, u64)> = Vec::new();
    for (entry, size, mark) in candidates {
        let needed = entry
            .blobs
            .iter()
            .any(|b| used.contains(&b.id) && !copied.contains(&b.id));
        if needed {
            repo.unmark_retiring(&entry.id, &marks).await?;
            report.packs_recovered += 1;
            keep.push(entry.id);
        } else if settled && may_delete(mark, now, opts.delete_delay, spare) {
            delete.push((entry, size));
        } else {
            report.packs_marked += usize::from(fresh.contains(&entry.id));
            report.packs_waiting += usize::from(!fresh.contains(&entry.id));
            keep.push(entry.id);
        }
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
    keep.extend(held.into_iter().map(|(entry, _)| entry.id));
    let delete = go;
    if !lock.still_ours(repo).await? {
        return Err(KlosetError::Usage(
            "another prune took this prune's lock (it slept past the lock's 30 minutes): nothing was deleted; run prune again".into(),
        )
        .into());
    }
    // 4. A compacted index without the packs about to go, then the old index files.
    progress.set_message("writing the index".into());
    let deleting: HashSet<Id> = delete.iter().map(|d| d.0.id).collect();
    let keep: HashSet<Id> = keep
        .into_iter()
        .filter(|id| !deleting.contains(id))
        .collect();
    // Pack by pack from the index, each file written as it fills: never all at once.
    let staying = repo
        .pack_entries_each()
        .filter(|e| keep.contains(&e.id))
        .chain(written.into_iter().filter(|e| !deleting.contains(&e.id)));
    let mut splitter = IndexSplitter::new(usize::MAX);
    let mut indexed_packs: Vec<Id> = Vec::new();
    for entry in staying {
        indexed_packs.push(entry.id);
        if let Some(file) = splitter.push(entry) {
            repo.write_index(&file).await?;
            report.index_files_after += 1;
        }
    }
    if let Some(file) = splitter.finish() {
        repo.write_index(&file).await?;
        report.index_files_after += 1;
    }
    kill_point::here("prune:index-written");
    for key in repo.index_keys() {
        if !retained_index.contains(key) {
            repo.delete_index_file(key).await?;
        }
    }
    kill_point::here("prune:old-index-deleted");
    // 5. Only now the packs: an index never names a pack that is gone.
    progress.set_message(format!("deleting {} packs", delete.len()));
    for (entry, size) in &delete {
        repo.delete_pack(&entry.id, &marks).await?;
        report.bytes_freed += size;
        kill_point::here("prune:pack-deleted");
    }
    report.packs_deleted = delete.len();
    if sweep_unindexed && settled && lock.still_ours(repo).await? {
        let indexed: HashSet<Id> = indexed_packs.iter().copied().collect();
        let skip: HashSet<Id> = deleting.union(&blocked).copied().collect();
        let (count, bytes) = sweep(repo, opts, &indexed, &skip, spare, lock).await?;
        report.unindexed_deleted = count;
        report.bytes_freed += bytes;
    }
    repo.remove_dead_leases(lock.server_now()).await?;
    // Object Lock: what the store still needs stays protected for another period.
    if repo.backend_has_lock() {
        progress.set_message("extending Object Lock retention".into());
        let mut in_use: Vec<String> = indexed_packs.iter().map(pack_key).collect();
        in_use.extend(repo.protected_keys().await?);
        report.retention_extended = repo.extend_retention(&in_use).await?;
    }
    Ok(report)
}

/// Adds every blob the snapshots refer to.
async fn add_used_blobs(
    repo: &IndexedRepo,
    snapshots: &[(Id, crate::repo::snapshot::Snapshot)],
    used: &mut BlobSet<'_>,
) -> Result<()> {
    let roots = snapshots.iter().map(|(_, s)| s.tree);
    crate::ops::reach::used_blobs(repo, roots, |b| {
        used.insert(b);
    })
    .await
}

/// Locks passed over and leases honoured though they carry no valid MAC.
fn unauthenticated_lines(lock: &PruneLock, leases: &[LiveLease]) -> Vec<String> {
    let locks = lock.unauthenticated().iter().map(|k| {
        format!("{k}: a prune lock without a valid MAC, passed over (planted, or a prune of a kloset older than 2026-12; delete it if no such prune runs)")
    });
    let leases = leases.iter().filter(|l| !l.authentic).map(|l| {
        format!("{}: a lease without a valid MAC, honoured (a backup of an older kloset, or planted: then delete it; while it is renewed, prune spares what is newer than its start)", l.key)
    });
    locks.chain(leases).collect()
}

fn health_bad_packs(repo: &IndexedRepo) -> HashSet<Id> {
    let h = repo.health();
    h.missing_packs
        .iter()
        .copied()
        .chain(h.damaged_packs.iter().map(|(id, _)| *id))
        .collect()
}

/// Copies the needed blobs of `packs` into new packs through the pack writer, sealed bytes
/// as they are (each is opened and checked first: a damaged blob is not carried over), and
/// returns them once uploaded and indexed.
async fn copy_needed(
    repo: &IndexedRepo,
    packs: &[PackEntry],
    used: &BlobSet<'_>,
    progress: &Progress,
) -> Result<Vec<PackEntry>> {
    if packs.is_empty() {
        return Ok(Vec::new());
    }
    let (writer, uploader) = PackWriter::start(repo.sink(), REPACK_UPLOADS, true);
    let copied = async {
        for entry in packs {
            let blobs: Vec<_> = entry
                .blobs
                .iter()
                .filter(|b| used.contains(&b.id))
                .collect();
            let Some(number) = blobs.first().and_then(|b| repo.blob(&b.id)).map(|l| l.pack) else {
                continue;
            };
            let ranges: Vec<_> = blobs.iter().map(|b| b.offset as u64..b.end()).collect();
            let data = repo.read_pack_ranges(number, &ranges).await?;
            for (b, sealed) in blobs.iter().zip(data) {
                open_blob(repo.keys(), &b.id, &sealed, b.raw_length)?;
                progress.add_bytes(sealed.len() as u64);
                writer
                    .add_raw(b.id, b.kind, &sealed, b.raw_length as usize)
                    .await?;
            }
        }
        writer.settle().await
    }
    .await;
    writer.close();
    let uploaded = uploader.await?;
    copied?;
    uploaded?;
    Ok(writer.written())
}

#[cfg(test)]
mod tests;
