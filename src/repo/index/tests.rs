use super::*;

fn blob(n: u8, offset: u32, length: u32, raw_length: u32) -> BlobEntry {
    BlobEntry {
        id: Id([n; 32]),
        kind: BlobKind::Data,
        offset,
        length,
        raw_length,
    }
}

#[test]
fn every_blob_is_found_through_the_fanout_and_no_other() {
    for n in [0usize, 1, 2, 7, 1000, 20_000] {
        let id = |i: usize| Id::of_bytes(&i.to_le_bytes());
        let blobs = |range: std::ops::Range<usize>| -> Vec<BlobEntry> {
            range
                .map(|i| BlobEntry {
                    id: id(i),
                    kind: BlobKind::Data,
                    offset: i as u32,
                    length: 40,
                    raw_length: 10,
                })
                .collect()
        };
        let mut index = Index::default();
        // Added in two rounds: the fanout follows a merge.
        index.add_file(&IndexFile {
            packs: vec![PackEntry {
                id: Id([1; 32]),
                blobs: blobs(0..n / 2),
            }],
        });
        index.add_file(&IndexFile {
            packs: vec![PackEntry {
                id: Id([2; 32]),
                blobs: blobs(n / 2..n),
            }],
        });
        assert_eq!(index.blob_count(), n);
        for i in 0..n {
            let at = index
                .position(&id(i))
                .unwrap_or_else(|| panic!("{i} of {n}"));
            assert_eq!(index.id_at(at), &id(i));
            assert!(index.contains(&id(i)));
        }
        for i in n..n + 100 {
            assert!(index.position(&id(i)).is_none());
        }
        // Extremes of the id space fall in the first and last runs.
        assert!(index.position(&Id([0; 32])).is_none());
        assert!(index.position(&Id([0xff; 32])).is_none());
    }
}

#[test]
fn ends_are_summed_without_wrapping() {
    let b = blob(1, u32::MAX, u32::MAX, 0);
    assert_eq!(b.end(), 2 * u32::MAX as u64);
    let p = PackEntry {
        id: Id([0; 32]),
        blobs: vec![blob(1, 0, 100, 90), b],
    };
    assert_eq!(p.end(), 2 * u32::MAX as u64);
    let mut index = Index::default();
    index.add_file(&IndexFile { packs: vec![p] });
    assert_eq!(index.pack_end(0), 2 * u32::MAX as u64);
    assert_eq!(index.pack_end(7), 0, "an unknown pack");
}

#[test]
fn a_blob_is_located_in_its_best_ranked_pack_and_earlier_entries_stay() {
    let pack = |p: u8, blobs: &[u8]| PackEntry {
        id: Id([p; 32]),
        blobs: blobs
            .iter()
            .enumerate()
            .map(|(i, &n)| blob(n, i as u32 * 40, 40, 30))
            .collect(),
    };
    let file = |packs| IndexFile { packs };
    // Pack 2 is damaged (rank 2), pack 3 retiring (rank 1), packs 1 and 4 usable.
    let rank = |id: &Id| match id.0[0] {
        2 => 2,
        3 => 1,
        _ => 0,
    };
    let mut index = Index::default();
    index.add_files(
        vec![
            file(vec![pack(2, &[10, 11, 12]), pack(3, &[11, 12])]),
            file(vec![pack(1, &[12, 13]), pack(4, &[13])]),
        ],
        rank,
    );
    let at = |index: &Index, n: u8| index.get(&Id([n; 32])).map(|l| index.pack_id(l.pack).0[0]);
    assert_eq!(at(&index, 10), Some(2), "only in the damaged pack");
    assert_eq!(
        at(&index, 11),
        Some(3),
        "the retiring copy beats the damaged one"
    );
    assert_eq!(at(&index, 12), Some(1), "a usable copy beats both");
    assert_eq!(
        at(&index, 13),
        Some(1),
        "among usable copies, the first given"
    );
    assert!(index.contains(&Id([12; 32])) && !index.contains(&Id([10; 32])));
    assert_eq!(index.blob_count(), 4);
    // Packs recovered later add what is new and leave indexed blobs where they are.
    index.add_file(&file(vec![pack(5, &[9, 12, 14])]));
    assert_eq!(at(&index, 12), Some(1));
    assert_eq!(at(&index, 9), Some(5));
    assert_eq!(at(&index, 14), Some(5));
    let ids: Vec<u8> = index.blob_ids().map(|id| id.0[0]).collect();
    assert_eq!(ids, [9, 10, 11, 12, 13, 14]);
    assert_eq!(index.get(&Id([15; 32])).map(|l| l.pack), None);
}

#[test]
fn impossible_entries_are_refused() {
    assert!(check_entries(&[blob(1, 0, 29, 0), blob(2, 29, 100, 90)]).is_ok());
    assert!(
        check_entries(&[blob(1, 0, 28, 0)]).is_err(),
        "shorter than a seal"
    );
    let huge = (bounds::MAX_BLOB + 1) as u32;
    assert!(check_entries(&[blob(1, 0, 100, huge)]).is_err());
    assert!(check_entries(&[blob(1, 0, u32::MAX, 10)]).is_err());
}

#[test]
fn index_files_are_split_by_blobs_and_packs_never_across_files() {
    let pack = |n: u8, blobs: usize| PackEntry {
        id: Id([n; 32]),
        blobs: (0..blobs).map(|i| blob(n, i as u32 * 30, 30, 1)).collect(),
    };
    let most = bounds::BLOBS_PER_INDEX_FILE;
    let files = IndexFile::split(vec![pack(1, most - 1), pack(2, 5), pack(3, 1)], 64);
    let shape: Vec<Vec<usize>> = files
        .iter()
        .map(|f| f.packs.iter().map(|p| p.blobs.len()).collect())
        .collect();
    assert_eq!(shape, vec![vec![most - 1, 5], vec![1]]);
    let files = IndexFile::split((0..10).map(|n| pack(n, 0)).collect(), 4);
    assert_eq!(
        files.iter().map(|f| f.packs.len()).collect::<Vec<_>>(),
        [4, 4, 2]
    );
    assert!(IndexFile::split(Vec::new(), 4).is_empty());
}
