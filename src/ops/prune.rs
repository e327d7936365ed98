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
use crate::repo::id::Id;
use crate::repo::index::{pack_key, IndexFile, PackEntry};
use crate::repo::lease::{oldest_start, LiveLease};
use crate::repo::maintenance::PruneLock;
use crate::repo::packer::PackWriter;
use crate::repo::walk::{Visit, WalkOptions};
use crate::repo::{open_blob, IndexedRepo, Repo};

/// Index files written by prune hold at most this many blobs each.
const BLOBS_PER_INDEX_FILE: usize = 200_000;
/// Packs no index names may be an unannounced writer's uploads: they are left this long at
/// least.
const UNINDEXED_GRACE_HOURS: i64 = 6;
/// Server timestamps have a second's resolution (and servers of a cluster disagree a little):
/// "after a lease started" is taken this generously.
const CLOCK_MARGIN: Duration = Duration::seconds(5);
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

/// What the leases listed so far allow: nothing newer than the oldest start is touched.
#[derive(Clone, Copy)]
struct Spare {
    after: Option<DateTime<Utc>>,
}

impl Spare {
    fn of(leases: &[LiveLease]) -> Spare {
        Spare {
            after: oldest_start(leases),
        }
    }

    fn and(self, other: Spare) -> Spare {
        let after = match (self.after, other.after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Spare { after }
    }

    /// Something written (or marked) at `at` may be what a live writer refers to.
    fn spares(self, at: DateTime<Utc>) -> bool {
        self.after.is_some_and(|start| at + CLOCK_MARGIN >= start)
    }
}

/// A marked pack may go: its mark is older than the delay and than every live lease. The
/// delay is the one rule read with the margin in the other direction: "now" is the lock's
/// `LastModified` plus elapsed time, which can run a little behind the server's stamp on a mark
/// written just now, and a delay protects only writers that took no lease.
fn may_delete(mark: DateTime<Utc>, now: DateTime<Utc>, delay: Duration, spare: Spare) -> bool {
    mark + delay <= now + CLOCK_MARGIN && !spare.spares(mark)
}

async fn run(
    repo: Repo,
    opts: &PruneOptions,
    lock: &PruneLock,
    progress: &Progress,
) -> Result<PruneReport> {
    // Leases, then snapshots, then the index (FORMAT.md): a writer that commits after the
    // snapshot listing either is among these leases or took its lease after this listing.
    let spare_listed = Spare::of(&repo.live_leases(lock.server_now()).await?);
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
    let mut used = used_blobs(repo, &list.good).await?;
    let stored = repo.stored_packs_with_time().await?;
    let sweep_unindexed = unindexed_hold_nothing_used(repo, &used, &stored).await?;
    let pack_time: HashMap<Id, DateTime<Utc>> = stored.iter().map(|(id, _, t)| (*id, *t)).collect();
    let now = lock.server_now();
    let entries = repo.pack_entries();
    let damaged: HashSet<Id> = health_bad_packs(repo);
    let mut report = PruneReport {
        dry_run: opts.dry_run,
        snapshots: list.good.len(),
        packs: entries.len(),
        index_files_before: repo.index_keys().len(),
        ..Default::default()
    };
    for entry in &entries {
        report.stored_bytes += pack_size(entry);
    }
    let rules = Rules {
        used: &used,
        damaged: &damaged,
        marks: repo.retiring(),
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
    } = select(entries, &rules);
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
    retire.extend(repack.iter().map(|e| (e.clone(), pack_size(e))));
    report.packs_repacked = repack.len();
    report.packs_recovered = recover.len();
    if opts.dry_run {
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
    let loaded_marks = repo.retiring().clone();
    for id in &recover {
        repo.unmark_retiring(id, &loaded_marks).await?;
    }
    // 2. Marks: from here writers save these packs' blobs anew.
    let fresh: HashSet<Id> = retire.iter().map(|(e, _)| e.id).collect();
    for (entry, _) in &retire {
        repo.mark_retiring(&entry.id, lock.server_now()).await?;
    }
    kill_point::here("prune:marked");
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
    let listed: HashSet<Id> = list.good.iter().map(|(id, _)| *id).collect();
    let newer: Vec<_> = repo
        .snapshots()
        .await?
        .into_iter()
        .filter(|(id, _)| !listed.contains(id))
        .collect();
    // A snapshot committed meanwhile whose trees this index cannot walk: nothing is deleted in
    // this run (the marks stay; a later prune decides).
    let settled = match used_blobs(repo, &newer).await {
        Ok(more) => {
            used.extend(more);
            true
        }
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
            keep.push(entry);
        } else if settled && may_delete(mark, now, opts.delete_delay, spare) {
            delete.push((entry, size));
        } else {
            report.packs_marked += usize::from(fresh.contains(&entry.id));
            report.packs_waiting += usize::from(!fresh.contains(&entry.id));
            keep.push(entry);
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
    keep.extend(held.into_iter().map(|(entry, _)| entry));
    let delete = go;
    if !lock.still_ours(repo).await? {
        return Err(KlosetError::Usage(
            "another prune took this prune's lock (it slept past the lock's 30 minutes): nothing was deleted; run prune again".into(),
        )
        .into());
    }
    // 4. A compacted index without the packs about to go, then the old index files.
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
    // 5. Only now the packs: an index never names a pack that is gone.
    progress.set_message(format!("deleting {} packs", delete.len()));
    for (entry, size) in &delete {
        repo.delete_pack(&entry.id, &marks).await?;
        report.bytes_freed += size;
        kill_point::here("prune:pack-deleted");
    }
    report.packs_deleted = delete.len();
    if sweep_unindexed && settled && lock.still_ours(repo).await? {
        let indexed: HashSet<Id> = files
            .iter()
            .flat_map(|f| f.packs.iter().map(|p| p.id))
            .collect();
        let skip: HashSet<Id> = deleting.union(&blocked).copied().collect();
        let (count, bytes) = sweep(repo, opts, &indexed, &skip, spare, lock).await?;
        report.unindexed_deleted = count;
        report.bytes_freed += bytes;
    }
    repo.remove_dead_leases(lock.server_now()).await?;
    // Object Lock: what the store still needs stays protected for another period.
    if repo.backend_has_lock() {
        progress.set_message("extending Object Lock retention".into());
        let indexed: Vec<String> = files
            .iter()
            .flat_map(|f| f.packs.iter().map(|p| pack_key(&p.id)))
            .collect();
        let mut in_use = indexed;
        in_use.extend(repo.protected_keys().await?);
        report.retention_extended = repo.extend_retention(&in_use).await?;
    }
    Ok(report)
}

/// Every blob a snapshot uses is readable from an indexed pack, or the packs no index names
/// cannot hold one either: then they may be swept. A used blob found in such a pack means an
/// index file was lost, and prune stops before it deletes anything.
async fn unindexed_hold_nothing_used(
    repo: &IndexedRepo,
    used: &HashSet<Id>,
    stored: &[(Id, u64, DateTime<Utc>)],
) -> Result<bool> {
    let unreadable: HashSet<Id> = used
        .iter()
        .filter(|id| !repo.is_readable(id))
        .copied()
        .collect();
    if unreadable.is_empty() {
        return Ok(true);
    }
    let named: HashSet<Id> = repo.pack_entries().iter().map(|p| p.id).collect();
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
async fn sweep(
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

/// What prune's choice depends on, all read before it chooses.
struct Rules<'a> {
    used: &'a HashSet<Id>,
    damaged: &'a HashSet<Id>,
    marks: &'a HashMap<Id, crate::repo::maintenance::Mark>,
    /// Each stored pack's `LastModified`.
    pack_time: &'a HashMap<Id, DateTime<Utc>>,
    now: DateTime<Utc>,
    delay: Duration,
    spare: Spare,
}

#[derive(Default)]
struct Selection {
    /// Stay as they are.
    keep: Vec<PackEntry>,
    /// Marked, unused, and old enough: deleted unless the checks just before deleting object.
    candidates: Vec<(PackEntry, u64, DateTime<Utc>)>,
    /// Unused: to be marked.
    retire: Vec<(PackEntry, u64)>,
    /// Marked, but a snapshot needs them: the marks are withdrawn.
    recover: Vec<Id>,
    /// Partly used: (entry, size, used bytes), repacked if the allowance says so.
    partly: Vec<(PackEntry, u64, u64)>,
    waiting: usize,
    unused_bytes: u64,
}

/// Sorts every indexed pack into what happens to it. Pure, so each rule has a test.
fn select(entries: Vec<PackEntry>, r: &Rules) -> Selection {
    let mut s = Selection::default();
    for entry in entries {
        let size = pack_size(&entry);
        if r.damaged.contains(&entry.id) {
            s.keep.push(entry);
            continue;
        }
        let used_bytes: u64 = entry
            .blobs
            .iter()
            .filter(|b| r.used.contains(&b.id))
            .map(|b| b.length as u64)
            .sum();
        let needed = entry.blobs.iter().any(|b| r.used.contains(&b.id));
        if let Some(mark) = r.marks.get(&entry.id) {
            if needed {
                s.recover.push(entry.id);
                s.keep.push(entry);
            } else if may_delete(mark.at, r.now, r.delay, r.spare) {
                s.candidates.push((entry, size, mark.at));
            } else {
                s.waiting += 1;
                s.keep.push(entry);
            }
            continue;
        }
        // Written since the oldest live writer started: it may be that writer's own.
        if r.pack_time
            .get(&entry.id)
            .is_none_or(|t| r.spare.spares(*t))
        {
            s.keep.push(entry);
            continue;
        }
        if !needed {
            s.unused_bytes += size;
            s.retire.push((entry, size));
        } else if used_bytes < size {
            s.unused_bytes += size - used_bytes;
            s.partly.push((entry, size, used_bytes));
        } else {
            s.keep.push(entry);
        }
    }
    s
}

/// The emptiest partly used packs, until what stays unused is within `allowed` or the bytes
/// repacked would pass `max_repack`. Returns (to repack, to keep).
fn choose_repack(
    mut partly: Vec<(PackEntry, u64, u64)>,
    allowed: u64,
    max_repack: u64,
) -> (Vec<PackEntry>, Vec<PackEntry>) {
    partly.sort_by(|a, b| {
        let free = |p: &(PackEntry, u64, u64)| (p.1 - p.2) as f64 / p.1.max(1) as f64;
        free(b).total_cmp(&free(a)).then(a.0.id.cmp(&b.0.id))
    });
    let mut unused_left = partly.iter().map(|p| p.1 - p.2).sum::<u64>();
    let (mut repack, mut keep) = (Vec::new(), Vec::new());
    let mut repack_bytes = 0u64;
    for (entry, size, used_bytes) in partly {
        if unused_left > allowed && repack_bytes + size <= max_repack {
            unused_left -= size - used_bytes;
            repack_bytes += size;
            repack.push(entry);
        } else {
            keep.push(entry);
        }
    }
    (repack, keep)
}

/// Every blob any snapshot refers to: root trees, subtrees and file contents.
async fn used_blobs(
    repo: &IndexedRepo,
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

fn health_bad_packs(repo: &IndexedRepo) -> HashSet<Id> {
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

/// Copies the needed blobs of `packs` into new packs through the pack writer, sealed bytes
/// as they are (each is opened and checked first: a damaged blob is not carried over), and
/// returns them once uploaded and indexed.
async fn copy_needed(
    repo: &IndexedRepo,
    packs: &[PackEntry],
    used: &HashSet<Id>,
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
            let ranges: Vec<_> = blobs
                .iter()
                .map(|b| b.offset as u64..b.offset as u64 + b.length as u64)
                .collect();
            let data = repo.read_pack_ranges(number, &ranges).await?;
            for (b, sealed) in blobs.iter().zip(data) {
                open_blob(repo.keys(), &b.id, &sealed)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::index::{BlobEntry, BlobKind};
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }
    fn lease(started: i64) -> LiveLease {
        LiveLease {
            key: String::new(),
            started: at(started),
            renewed: at(started + 60),
        }
    }

    #[test]
    fn without_leases_and_delay_a_mark_goes_at_once() {
        let none = Spare::of(&[]);
        assert!(may_delete(at(100), at(100), Duration::zero(), none));
    }

    #[test]
    fn the_delay_counts_from_the_mark() {
        let none = Spare::of(&[]);
        let d = Duration::seconds(60);
        assert!(!may_delete(at(100), at(154), d, none));
        assert!(may_delete(at(100), at(155), d, none));
    }

    #[test]
    fn a_mark_after_a_live_lease_began_waits_for_it() {
        let spare = Spare::of(&[lease(1_000)]);
        assert!(!may_delete(at(1_000), at(9_999), Duration::zero(), spare));
        assert!(!may_delete(at(2_000), at(9_999), Duration::zero(), spare));
        // Within the margin of the start: spared too (second-resolution timestamps).
        assert!(!may_delete(at(997), at(9_999), Duration::zero(), spare));
        assert!(may_delete(at(990), at(9_999), Duration::zero(), spare));
    }

    #[test]
    fn the_oldest_lease_of_both_listings_decides() {
        let before = Spare::of(&[lease(5_000)]);
        let after = Spare::of(&[lease(3_000), lease(8_000)]);
        let both = before.and(after);
        assert!(!both.spares(at(2_000)));
        assert!(both.spares(at(3_000)));
        assert!(Spare::of(&[]).and(before).spares(at(5_000)));
        assert!(!Spare::of(&[]).and(Spare::of(&[])).spares(at(0)));
    }

    fn entry(n: u8, blobs: usize) -> PackEntry {
        PackEntry {
            id: Id([n; 32]),
            blobs: (0..blobs)
                .map(|i| BlobEntry {
                    id: Id([i as u8; 32]),
                    kind: BlobKind::Data,
                    offset: (i * 100) as u32,
                    length: 100,
                    raw_length: 90,
                })
                .collect(),
        }
    }

    #[test]
    fn a_packs_size_is_the_end_of_its_last_blob() {
        assert_eq!(pack_size(&entry(1, 3)), 300);
        assert_eq!(pack_size(&entry(1, 0)), 0);
    }

    #[test]
    fn compaction_splits_by_blob_count_and_keeps_every_pack() {
        let many: Vec<PackEntry> = (0..5).map(|n| entry(n, 1)).collect();
        let files = compact(many);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].packs.len(), 5);
        assert!(compact(Vec::new()).is_empty());
        // An empty pack entry still counts, so files never grow without bound.
        let big = vec![entry(1, 0); BLOBS_PER_INDEX_FILE + 1];
        let files = compact(big);
        assert_eq!(files.len(), 2);
        assert_eq!(
            files.iter().map(|f| f.packs.len()).sum::<usize>(),
            BLOBS_PER_INDEX_FILE + 1
        );
    }

    fn blob_entry(id: u8, offset: u32) -> BlobEntry {
        BlobEntry {
            id: Id([id; 32]),
            kind: BlobKind::Data,
            offset,
            length: 100,
            raw_length: 90,
        }
    }

    /// A pack `n` holding blobs `ids`.
    fn pack(n: u8, ids: &[u8]) -> PackEntry {
        PackEntry {
            id: Id([n; 32]),
            blobs: ids
                .iter()
                .enumerate()
                .map(|(i, b)| blob_entry(*b, i as u32 * 100))
                .collect(),
        }
    }

    struct World {
        used: HashSet<Id>,
        damaged: HashSet<Id>,
        marks: HashMap<Id, crate::repo::maintenance::Mark>,
        times: HashMap<Id, DateTime<Utc>>,
    }

    impl World {
        fn new(used: &[u8], packs: &[u8]) -> World {
            World {
                used: used.iter().map(|b| Id([*b; 32])).collect(),
                damaged: HashSet::new(),
                marks: HashMap::new(),
                times: packs.iter().map(|p| (Id([*p; 32]), at(1_000))).collect(),
            }
        }
        fn mark(mut self, pack: u8, secs: i64) -> World {
            self.marks.insert(
                Id([pack; 32]),
                crate::repo::maintenance::Mark {
                    keys: vec![],
                    at: at(secs),
                },
            );
            self
        }
        fn select(&self, entries: Vec<PackEntry>, spare: Spare, delay: i64) -> Selection {
            select(
                entries,
                &Rules {
                    used: &self.used,
                    damaged: &self.damaged,
                    marks: &self.marks,
                    pack_time: &self.times,
                    now: at(10_000),
                    delay: Duration::seconds(delay),
                    spare,
                },
            )
        }
    }

    fn ids(entries: &[PackEntry]) -> Vec<u8> {
        let mut v: Vec<u8> = entries.iter().map(|e| e.id.0[0]).collect();
        v.sort();
        v
    }

    #[test]
    fn unused_packs_retire_used_ones_stay_partly_used_ones_wait_for_the_allowance() {
        let w = World::new(&[1, 2, 3], &[10, 11, 12]);
        let s = w.select(
            vec![pack(10, &[1, 2]), pack(11, &[7, 8]), pack(12, &[3, 9])],
            Spare::of(&[]),
            0,
        );
        assert_eq!(ids(&s.keep), [10]);
        assert_eq!(
            s.retire.iter().map(|r| r.0.id.0[0]).collect::<Vec<_>>(),
            [11]
        );
        assert_eq!(s.partly.len(), 1);
        assert_eq!(s.partly[0].1, 200);
        assert_eq!(s.partly[0].2, 100);
        assert_eq!(s.unused_bytes, 200 + 100);
    }

    #[test]
    fn a_pack_holding_a_used_blob_is_never_retired_or_deleted() {
        let w = World::new(&[1], &[10]).mark(10, 0);
        let s = w.select(vec![pack(10, &[1, 2])], Spare::of(&[]), 0);
        assert!(s.candidates.is_empty() && s.retire.is_empty());
        assert_eq!(s.recover, [Id([10; 32])]);
        assert_eq!(ids(&s.keep), [10]);
    }

    #[test]
    fn marked_unused_packs_go_once_the_delay_and_every_lease_allow() {
        let w = World::new(&[], &[10, 11]).mark(10, 9_500).mark(11, 2_000);
        // A delay of 1000 s: only the older mark is old enough.
        let s = w.select(vec![pack(10, &[5]), pack(11, &[6])], Spare::of(&[]), 1_000);
        assert_eq!(s.candidates.len(), 1);
        assert_eq!(s.candidates[0].0.id, Id([11; 32]));
        assert_eq!(s.waiting, 1);
        // A writer live since 1500 s: the mark at 2000 s may be one it must not lose.
        let s = w.select(vec![pack(11, &[6])], Spare::of(&[lease(1_500)]), 0);
        assert!(s.candidates.is_empty());
        assert_eq!(s.waiting, 1);
    }

    #[test]
    fn a_pack_written_after_the_oldest_live_lease_is_not_marked() {
        let mut w = World::new(&[], &[10, 11]);
        w.times.insert(Id([11; 32]), at(5_000));
        let s = w.select(
            vec![pack(10, &[5]), pack(11, &[6])],
            Spare::of(&[lease(4_000)]),
            0,
        );
        assert_eq!(
            s.retire.iter().map(|r| r.0.id.0[0]).collect::<Vec<_>>(),
            [10]
        );
        assert_eq!(ids(&s.keep), [11]);
        // Not listed at all (uploaded since the listing): kept.
        let s = World::new(&[], &[]).select(vec![pack(12, &[7])], Spare::of(&[]), 0);
        assert_eq!(ids(&s.keep), [12]);
    }

    #[test]
    fn damaged_packs_are_kept_whatever_they_hold() {
        let mut w = World::new(&[], &[10]).mark(10, 0);
        w.damaged.insert(Id([10; 32]));
        let s = w.select(vec![pack(10, &[5])], Spare::of(&[]), 0);
        assert_eq!(ids(&s.keep), [10]);
        assert!(s.candidates.is_empty() && s.retire.is_empty() && s.recover.is_empty());
    }

    #[test]
    fn repacking_takes_the_emptiest_first_within_both_limits() {
        let p = |n: u8, size: u64, used: u64| (pack(n, &[n]), size, used);
        let partly = vec![p(1, 100, 90), p(2, 100, 10), p(3, 100, 50)];
        // Unused: 10 + 90 + 50 = 150; allowed 40: repack 2 (90 free), then 3 (50 free) -> 10.
        let (repack, keep) = choose_repack(partly.clone(), 40, u64::MAX);
        assert_eq!(ids(&repack), [2, 3]);
        assert_eq!(ids(&keep), [1]);
        // At most 100 bytes of repacking: only the emptiest.
        let (repack, _) = choose_repack(partly.clone(), 0, 100);
        assert_eq!(ids(&repack), [2]);
        // Within the allowance already: nothing.
        let (repack, keep) = choose_repack(partly, 150, u64::MAX);
        assert!(repack.is_empty());
        assert_eq!(keep.len(), 3);
    }
}
