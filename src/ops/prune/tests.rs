use super::select::*;
use super::*;
use crate::repo::bounds::BLOBS_PER_INDEX_FILE;
use crate::repo::index::{BlobEntry, BlobKind};
use crate::repo::lease::LiveLease;
use chrono::TimeZone;

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).unwrap()
}
fn lease(started: i64) -> LiveLease {
    LiveLease {
        key: String::new(),
        started: at(started),
        renewed: at(started + 60),
        authentic: true,
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

/// What prune writes: few index files instead of one per backup.
fn compact(entries: Vec<PackEntry>) -> Vec<crate::repo::index::IndexFile> {
    crate::repo::index::IndexFile::split(entries, usize::MAX)
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
                first: at(secs),
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

fn pack_ids(ids: &[Id]) -> Vec<u8> {
    let mut v: Vec<u8> = ids.iter().map(|id| id.0[0]).collect();
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
    assert_eq!(pack_ids(&s.keep), [10]);
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
    assert_eq!(pack_ids(&s.keep), [10]);
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
    assert_eq!(pack_ids(&s.keep), [11]);
    // Not listed at all (uploaded since the listing): kept.
    let s = World::new(&[], &[]).select(vec![pack(12, &[7])], Spare::of(&[]), 0);
    assert_eq!(pack_ids(&s.keep), [12]);
}

#[test]
fn damaged_packs_are_kept_whatever_they_hold() {
    let mut w = World::new(&[], &[10]).mark(10, 0);
    w.damaged.insert(Id([10; 32]));
    let s = w.select(vec![pack(10, &[5])], Spare::of(&[]), 0);
    assert_eq!(pack_ids(&s.keep), [10]);
    assert!(s.candidates.is_empty() && s.retire.is_empty() && s.recover.is_empty());
}

#[test]
fn repacking_takes_the_emptiest_first_within_both_limits() {
    let p = |n: u8, size: u64, used: u64| (Id([n; 32]), size, used);
    let partly = vec![p(1, 100, 90), p(2, 100, 10), p(3, 100, 50)];
    // Unused: 10 + 90 + 50 = 150; allowed 40: repack 2 (90 free), then 3 (50 free) -> 10.
    let (repack, keep) = choose_repack(partly.clone(), 40, u64::MAX);
    assert_eq!(pack_ids(&repack), [2, 3]);
    assert_eq!(pack_ids(&keep), [1]);
    // At most 100 bytes of repacking: only the emptiest.
    let (repack, _) = choose_repack(partly.clone(), 0, 100);
    assert_eq!(pack_ids(&repack), [2]);
    // Within the allowance already: nothing.
    let (repack, keep) = choose_repack(partly, 150, u64::MAX);
    assert!(repack.is_empty());
    assert_eq!(keep.len(), 3);
}
