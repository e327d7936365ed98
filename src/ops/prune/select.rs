//! Prune's choice, pure so that every rule has a test: which packs stay, which are marked,
//! which marked ones may go, which partly used ones are repacked, and how the index is split.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::repo::blob_set::HasBlob;
use crate::repo::id::Id;
use crate::repo::index::PackEntry;
use crate::repo::lease::{oldest_start, LiveLease};
use crate::repo::maintenance::Mark;

/// Server timestamps have a second's resolution (and servers of a cluster disagree a little):
/// "after a lease started" is taken this generously.
pub(super) const CLOCK_MARGIN: Duration = Duration::seconds(5);

/// What the leases listed so far allow: nothing newer than the oldest start is touched.
#[derive(Clone, Copy)]
pub(super) struct Spare {
    pub(super) after: Option<DateTime<Utc>>,
}

impl Spare {
    pub(super) fn of(leases: &[LiveLease]) -> Spare {
        Spare {
            after: oldest_start(leases),
        }
    }

    pub(super) fn and(self, other: Spare) -> Spare {
        let after = match (self.after, other.after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Spare { after }
    }

    /// Something written (or marked) at `at` may be what a live writer refers to.
    pub(super) fn spares(self, at: DateTime<Utc>) -> bool {
        self.after.is_some_and(|start| at + CLOCK_MARGIN >= start)
    }
}

/// A marked pack may go: its mark is older than the delay and than every live lease. The
/// delay is the one rule read with the margin in the other direction: "now" is the lock's
/// `LastModified` plus elapsed time, which can run a little behind the server's stamp on a mark
/// written just now, and a delay protects only writers that took no lease.
pub(super) fn may_delete(
    mark: DateTime<Utc>,
    now: DateTime<Utc>,
    delay: Duration,
    spare: Spare,
) -> bool {
    mark + delay <= now + CLOCK_MARGIN && !spare.spares(mark)
}

/// What prune's choice depends on, all read before it chooses.
pub(super) struct Rules<'a> {
    pub(super) used: &'a dyn HasBlob,
    pub(super) damaged: &'a HashSet<Id>,
    pub(super) marks: &'a HashMap<Id, Mark>,
    /// Each stored pack's `LastModified`.
    pub(super) pack_time: &'a HashMap<Id, DateTime<Utc>>,
    pub(super) now: DateTime<Utc>,
    pub(super) delay: Duration,
    pub(super) spare: Spare,
}

#[derive(Default)]
pub(super) struct Selection {
    /// Stay as they are (their entries are read from the index again when it is compacted).
    pub(super) keep: Vec<Id>,
    /// Marked, unused, and old enough: deleted unless the checks just before deleting object.
    pub(super) candidates: Vec<(PackEntry, u64, DateTime<Utc>)>,
    /// Unused: to be marked.
    pub(super) retire: Vec<(PackEntry, u64)>,
    /// Marked, but a snapshot needs them: the marks are withdrawn.
    pub(super) recover: Vec<Id>,
    /// Partly used: (pack, size, used bytes), repacked if the allowance says so (only the
    /// ids: every pack of a store can be partly used, and their entries are the index again).
    pub(super) partly: Vec<(Id, u64, u64)>,
    pub(super) waiting: usize,
    pub(super) unused_bytes: u64,
    /// Every pack seen, and their bytes.
    pub(super) packs: usize,
    pub(super) stored_bytes: u64,
}

/// Sorts every indexed pack into what happens to it. Pure, so each rule has a test.
pub(super) fn select(entries: impl IntoIterator<Item = PackEntry>, r: &Rules) -> Selection {
    let mut s = Selection::default();
    for entry in entries {
        let size = pack_size(&entry);
        s.packs += 1;
        s.stored_bytes += size;
        if r.damaged.contains(&entry.id) {
            s.keep.push(entry.id);
            continue;
        }
        let used_bytes: u64 = entry
            .blobs
            .iter()
            .filter(|b| r.used.has(&b.id))
            .map(|b| b.length as u64)
            .sum();
        let needed = entry.blobs.iter().any(|b| r.used.has(&b.id));
        if let Some(mark) = r.marks.get(&entry.id) {
            if needed {
                s.recover.push(entry.id);
                s.keep.push(entry.id);
            } else if may_delete(mark.at, r.now, r.delay, r.spare) {
                s.candidates.push((entry, size, mark.at));
            } else {
                s.waiting += 1;
                s.keep.push(entry.id);
            }
            continue;
        }
        // Written since the oldest live writer started: it may be that writer's own.
        if r.pack_time
            .get(&entry.id)
            .is_none_or(|t| r.spare.spares(*t))
        {
            s.keep.push(entry.id);
            continue;
        }
        if !needed {
            s.unused_bytes += size;
            s.retire.push((entry, size));
        } else if used_bytes < size {
            s.unused_bytes += size - used_bytes;
            s.partly.push((entry.id, size, used_bytes));
        } else {
            s.keep.push(entry.id);
        }
    }
    s
}

/// The emptiest partly used packs, until what stays unused is within `allowed` or the bytes
/// repacked would pass `max_repack`. Returns (to repack, to keep).
pub(super) fn choose_repack(
    mut partly: Vec<(Id, u64, u64)>,
    allowed: u64,
    max_repack: u64,
) -> (Vec<Id>, Vec<Id>) {
    partly.sort_by(|a, b| {
        let free = |p: &(Id, u64, u64)| (p.1 - p.2) as f64 / p.1.max(1) as f64;
        free(b).total_cmp(&free(a)).then(a.0.cmp(&b.0))
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

/// A pack's size as the index knows it: the end of its last blob (the header adds a little).
pub(super) fn pack_size(entry: &PackEntry) -> u64 {
    entry.end()
}
