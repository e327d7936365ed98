//! How the feed cuts its work: runs of segments assembled at once, and coalesced reads of a
//! pack's blobs. Pure functions, tested here.

use std::collections::HashMap;

use crate::repo::id::Id;
use crate::repo::BlobRef;

/// Bytes of segments being assembled at once, when segments span several blobs.
const ASSEMBLY_BUDGET: u64 = 128 * 1024 * 1024;

/// A run of a file's content handed to a sink at once: one blob, or consecutive blobs
/// assembled (a whole object, a multipart part).
pub struct Segment {
    pub file: usize,
    pub index: usize,
    pub offset: u64,
    pub len: u64,
    pub blobs: usize,
}

/// A blob to read, and every place its content goes.
pub struct Use {
    pub id: Id,
    pub loc: BlobRef,
    /// (segment, position inside it)
    pub targets: Vec<(usize, u64)>,
}

/// Consecutive runs of segments to work on at once: all of them when each blob is written where
/// it lands, else runs whose assembly fits the budget (at least one segment each).
pub fn windows(segments: &[Segment], assembling: bool) -> Vec<std::ops::Range<usize>> {
    if !assembling {
        return std::iter::once(0..segments.len()).collect();
    }
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, s) in segments.iter().enumerate() {
        if i > start && bytes + s.len > ASSEMBLY_BUDGET {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += s.len;
    }
    if start < segments.len() {
        out.push(start..segments.len());
    }
    out
}

/// Splits each pack's blobs, in offset order, into reads of at most `unit` bytes, sealed and
/// opened: enough to amortise a request, small enough that many in flight stay within a
/// modest memory budget.
pub fn read_units(by_pack: HashMap<u32, HashMap<Id, Use>>, unit: u64) -> Vec<(u32, Vec<Use>)> {
    let mut units = Vec::new();
    for (pack, blobs) in by_pack {
        let mut blobs: Vec<Use> = blobs.into_values().collect();
        blobs.sort_by_key(|b| b.loc.offset);
        let mut current: Vec<Use> = Vec::new();
        let (mut start, mut raw) = (0u64, 0u64);
        for b in blobs {
            let end = b.loc.range().end;
            // Decompressed blobs wait in memory for their writers: small text files open to
            // several times their sealed size, so the plaintext counts against the unit too.
            if !current.is_empty() && (end - start > unit || raw + b.loc.raw_length as u64 > unit) {
                units.push((pack, std::mem::take(&mut current)));
            }
            if current.is_empty() {
                (start, raw) = (b.loc.offset as u64, 0);
            }
            raw += b.loc.raw_length as u64;
            current.push(b);
        }
        if !current.is_empty() {
            units.push((pack, current));
        }
    }
    units
}

/// S3 takes at most this many parts for one object.
pub const MAX_SEGMENTS: u64 = 10_000;

/// The segment size for a file of `size` bytes: at least `min`, and large enough that the file
/// is at most `MAX_SEGMENTS` segments (a 16 MiB part size stops at 156 GiB, S3 at 5 TiB), in
/// whole MiB. Whatever writes parts and whatever predicts their ETags use this one layout.
pub fn segment_size(min: u64, size: u64) -> u64 {
    let needed = size.div_ceil(MAX_SEGMENTS).div_ceil(1 << 20) << 20;
    min.max(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(len: u64) -> Segment {
        Segment {
            file: 0,
            index: 0,
            offset: 0,
            len,
            blobs: 2,
        }
    }

    #[test]
    fn windows_keep_assembly_within_the_budget_and_take_at_least_one_segment() {
        let mib = 1024 * 1024;
        let segs: Vec<Segment> = [100, 20, 20, 200, 1].iter().map(|m| seg(m * mib)).collect();
        assert_eq!(windows(&segs, true), vec![0..2, 2..3, 3..4, 4..5]);
        assert_eq!(
            windows(&segs, false),
            std::iter::once(0..5).collect::<Vec<_>>()
        );
        assert!(windows(&[], true).is_empty());
    }

    #[test]
    fn read_units_coalesce_a_pack_in_offset_order_up_to_the_unit() {
        let blob = |n: u8, offset: u32, length: u32| Use {
            id: Id([n; 32]),
            loc: BlobRef {
                pack: 7,
                offset,
                length,
                raw_length: length,
            },
            targets: vec![(0, 0)],
        };
        let mut pack = HashMap::new();
        for b in [blob(3, 200, 100), blob(1, 0, 100), blob(2, 100, 100)] {
            pack.insert(b.id, b);
        }
        let units = read_units(HashMap::from([(7, pack)]), 250);
        let offsets: Vec<Vec<u32>> = units
            .iter()
            .map(|(_, u)| u.iter().map(|b| b.loc.offset).collect())
            .collect();
        assert_eq!(offsets, vec![vec![0, 100], vec![200]]);
    }

    fn blob(n: u8, pack: u32, offset: u32, length: u32, raw_length: u32) -> Use {
        Use {
            id: Id([n; 32]),
            loc: BlobRef {
                pack,
                offset,
                length,
                raw_length,
            },
            targets: vec![(0, 0)],
        }
    }

    fn by_pack(blobs: Vec<Use>) -> HashMap<u32, HashMap<Id, Use>> {
        let mut out: HashMap<u32, HashMap<Id, Use>> = HashMap::new();
        for b in blobs {
            out.entry(b.loc.pack).or_default().insert(b.id, b);
        }
        out
    }

    fn offsets(mut units: Vec<(u32, Vec<Use>)>) -> Vec<(u32, Vec<u32>)> {
        units.sort_by_key(|(p, u)| (*p, u[0].loc.offset));
        units
            .into_iter()
            .map(|(p, u)| (p, u.iter().map(|b| b.loc.offset).collect()))
            .collect()
    }

    #[test]
    fn windows_at_exactly_the_budget_stay_together() {
        let half = ASSEMBLY_BUDGET / 2;
        let segs = [seg(half), seg(half), seg(1)];
        assert_eq!(windows(&segs, true), vec![0..2, 2..3]);
    }

    #[test]
    fn a_segment_larger_than_the_budget_gets_a_window_of_its_own() {
        let segs = [seg(1), seg(ASSEMBLY_BUDGET * 3), seg(1)];
        assert_eq!(windows(&segs, true), vec![0..1, 1..2, 2..3]);
        assert_eq!(windows(&[seg(ASSEMBLY_BUDGET + 1)], true), vec![0..1]);
    }

    #[test]
    fn windows_cover_every_segment_once_in_order() {
        let segs: Vec<Segment> = (1..50).map(|i| seg(i * 7 * 1024 * 1024)).collect();
        let w = windows(&segs, true);
        assert_eq!(w.first().unwrap().start, 0);
        assert_eq!(w.last().unwrap().end, segs.len());
        for pair in w.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for r in &w {
            let bytes: u64 = segs[r.clone()].iter().map(|s| s.len).sum();
            assert!(r.len() == 1 || bytes <= ASSEMBLY_BUDGET, "{r:?}");
        }
    }

    #[test]
    fn not_assembling_gives_one_window_even_when_empty() {
        assert_eq!(windows(&[], false), vec![0..0]);
    }

    #[test]
    fn read_units_never_mix_packs() {
        let units = read_units(
            by_pack(vec![
                blob(1, 1, 0, 10, 10),
                blob(2, 2, 0, 10, 10),
                blob(3, 1, 10, 10, 10),
            ]),
            1000,
        );
        assert_eq!(offsets(units), vec![(1, vec![0, 10]), (2, vec![0])]);
    }

    #[test]
    fn read_units_count_the_gaps_between_blobs() {
        // Two small blobs far apart: reading both in one request would fetch the gap.
        let units = read_units(
            by_pack(vec![blob(1, 1, 0, 10, 10), blob(2, 1, 500, 10, 10)]),
            100,
        );
        assert_eq!(offsets(units), vec![(1, vec![0]), (1, vec![500])]);
    }

    #[test]
    fn read_units_count_the_decompressed_size_too() {
        // Sealed, they fit one unit; opened, they would not.
        let units = read_units(
            by_pack(vec![
                blob(1, 1, 0, 10, 60),
                blob(2, 1, 10, 10, 60),
                blob(3, 1, 20, 10, 30),
            ]),
            100,
        );
        assert_eq!(offsets(units), vec![(1, vec![0]), (1, vec![10, 20])]);
    }

    #[test]
    fn a_blob_larger_than_the_unit_is_read_alone() {
        let units = read_units(
            by_pack(vec![
                blob(1, 1, 0, 10, 10),
                blob(2, 1, 10, 5000, 5000),
                blob(3, 1, 5010, 10, 10),
            ]),
            100,
        );
        assert_eq!(
            offsets(units),
            vec![(1, vec![0]), (1, vec![10]), (1, vec![5010])]
        );
    }

    #[test]
    fn read_units_keep_every_target_of_a_blob() {
        let mut b = blob(1, 1, 0, 10, 10);
        b.targets = vec![(0, 0), (3, 128), (9, 0)];
        let units = read_units(by_pack(vec![b]), 100);
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].1[0].targets, vec![(0, 0), (3, 128), (9, 0)]);
        assert!(read_units(HashMap::new(), 100).is_empty());
    }

    #[test]
    fn a_file_is_never_more_than_ten_thousand_segments() {
        let min = 16 << 20;
        assert_eq!(segment_size(min, 0), min);
        assert_eq!(segment_size(min, 100 << 30), min);
        let huge = 5u64 << 40;
        let s = segment_size(min, huge);
        assert!(
            huge.div_ceil(s) <= MAX_SEGMENTS && s % (1 << 20) == 0,
            "{s}"
        );
        assert!(s > min);
        let just_over = MAX_SEGMENTS * min + 1;
        assert!(just_over.div_ceil(segment_size(min, just_over)) <= MAX_SEGMENTS);
    }
}
