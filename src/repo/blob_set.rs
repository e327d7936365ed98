//! Sets of blob ids as prune and check need them: one bit per blob of the loaded index (a
//! million blobs in 128 KiB, where a hash set of their ids took some 40 MB), and the few ids
//! the index does not have (a lost index file, a missing pack) kept apart by id.

use std::collections::HashSet;

use super::id::Id;
use super::index::Index;
use super::IndexedRepo;

/// Membership, whatever holds it: prune's rules are tested against plain hash sets.
pub trait HasBlob {
    fn has(&self, id: &Id) -> bool;
}

impl HasBlob for HashSet<Id> {
    fn has(&self, id: &Id) -> bool {
        self.contains(id)
    }
}

pub struct BlobSet<'a> {
    index: &'a Index,
    bits: Vec<u64>,
    others: HashSet<Id>,
}

impl IndexedRepo {
    /// An empty set over this store's index.
    pub fn blob_set(&self) -> BlobSet<'_> {
        BlobSet {
            index: &self.index,
            bits: vec![0; self.index.blob_count().div_ceil(64)],
            others: HashSet::new(),
        }
    }
}

impl BlobSet<'_> {
    /// Whether `id` was new to the set.
    pub fn insert(&mut self, id: Id) -> bool {
        match self.index.position(&id) {
            Some(i) => {
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                let new = self.bits[word] & bit == 0;
                self.bits[word] |= bit;
                new
            }
            None => self.others.insert(id),
        }
    }

    pub fn contains(&self, id: &Id) -> bool {
        match self.index.position(id) {
            Some(i) => self.bits[i / 64] & (1u64 << (i % 64)) != 0,
            None => self.others.contains(id),
        }
    }

    pub fn extend(&mut self, ids: impl IntoIterator<Item = Id>) {
        for id in ids {
            self.insert(id);
        }
    }

    pub fn len(&self) -> usize {
        let indexed: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        indexed as usize + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every member: the indexed ones in id order, then the others.
    pub fn iter(&self) -> impl Iterator<Item = Id> + '_ {
        let indexed = self.bits.iter().enumerate().flat_map(move |(w, &word)| {
            (0..64)
                .filter(move |b| word & (1u64 << b) != 0)
                .map(move |b| *self.index.id_at(w * 64 + b))
        });
        indexed.chain(self.others.iter().copied())
    }
}

impl HasBlob for BlobSet<'_> {
    fn has(&self, id: &Id) -> bool {
        self.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::index::{BlobEntry, BlobKind, IndexFile, PackEntry};

    fn index(blobs: &[u8]) -> Index {
        let mut index = Index::default();
        index.add_file(&IndexFile {
            packs: vec![PackEntry {
                id: Id([0; 32]),
                blobs: blobs
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| BlobEntry {
                        id: Id([n; 32]),
                        kind: BlobKind::Data,
                        offset: i as u32 * 40,
                        length: 40,
                        raw_length: 30,
                    })
                    .collect(),
            }],
        });
        index
    }

    #[test]
    fn members_in_the_index_and_outside_it_are_kept_and_listed() {
        let index = index(&(0..130).collect::<Vec<u8>>());
        let mut set = BlobSet {
            index: &index,
            bits: vec![0; index.blob_count().div_ceil(64)],
            others: HashSet::new(),
        };
        assert!(set.is_empty());
        assert!(set.insert(Id([3; 32])));
        assert!(!set.insert(Id([3; 32])), "already a member");
        set.extend([Id([129; 32]), Id([64; 32]), Id([200; 32])]);
        assert!(set.insert(Id([250; 32])), "not indexed: kept by id");
        assert!(!set.insert(Id([200; 32])));
        for n in [3, 64, 129, 200, 250] {
            assert!(set.contains(&Id([n; 32])), "{n}");
            assert!(set.has(&Id([n; 32])), "{n}");
        }
        for n in [0, 4, 63, 65, 128, 201] {
            assert!(!set.contains(&Id([n; 32])), "{n}");
        }
        assert_eq!(set.len(), 5);
        let mut listed: Vec<u8> = set.iter().map(|id| id.0[0]).collect();
        listed.sort();
        assert_eq!(listed, [3, 64, 129, 200, 250]);
    }
}
