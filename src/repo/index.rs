//! The index: which pack holds each blob, and where. Stored as encrypted `index/<id>` files,
//! each describing a set of packs that were fully uploaded before the file was written.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::bounds;
use super::id::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    Data,
    Tree,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlobEntry {
    pub id: Id,
    pub kind: BlobKind,
    pub offset: u32,
    /// Sealed length in the pack.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackEntry {
    pub id: Id,
    pub blobs: Vec<BlobEntry>,
}

impl BlobEntry {
    /// Where the sealed blob ends in its pack, summed in u64 (never wraps).
    pub fn end(&self) -> u64 {
        self.offset as u64 + self.length as u64
    }
}

impl PackEntry {
    pub fn holds_trees(&self) -> bool {
        self.blobs.iter().any(|b| b.kind == BlobKind::Tree)
    }

    /// Where the pack's last blob ends.
    pub fn end(&self) -> u64 {
        self.blobs.iter().map(BlobEntry::end).max().unwrap_or(0)
    }
}

/// Blob entries read from an index file or a pack header are as kloset writes them: no blob
/// is shorter than a seal or opens to more than `bounds::MAX_BLOB`. Else the file is damage.
pub fn check_entries(blobs: &[BlobEntry]) -> Result<(), String> {
    let max_sealed = bounds::MAX_BLOB + bounds::SEAL_OVERHEAD;
    for b in blobs {
        if (b.length as u64) < bounds::MIN_SEALED_BLOB || b.length as u64 > max_sealed {
            return Err(format!(
                "blob {} has an impossible sealed length {}",
                b.id.short(),
                b.length
            ));
        }
        if b.raw_length as u64 > bounds::MAX_BLOB {
            return Err(format!(
                "blob {} claims {} bytes, more than a blob can be",
                b.id.short(),
                b.raw_length
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IndexFile {
    pub packs: Vec<PackEntry>,
}

impl IndexFile {
    /// Blobs counted against `bounds::BLOBS_PER_INDEX_FILE` (an empty pack entry counts, so
    /// files never grow without bound).
    pub fn weight(pack: &PackEntry) -> usize {
        pack.blobs.len().max(1)
    }

    /// Index files of at most `max_packs` packs and, but for the pack that reaches it, at most
    /// `bounds::BLOBS_PER_INDEX_FILE` blobs: the size every reader accepts. A pack is never
    /// split over two files.
    pub fn split(entries: Vec<PackEntry>, max_packs: usize) -> Vec<IndexFile> {
        let mut splitter = IndexSplitter::new(max_packs);
        let mut files: Vec<IndexFile> = entries
            .into_iter()
            .filter_map(|e| splitter.push(e))
            .collect();
        files.extend(splitter.finish());
        files
    }
}

/// `IndexFile::split` one file at a time, so a writer holds one file, not all of them.
pub struct IndexSplitter {
    current: IndexFile,
    blobs: usize,
    max_packs: usize,
}

impl IndexSplitter {
    pub fn new(max_packs: usize) -> IndexSplitter {
        IndexSplitter {
            current: IndexFile::default(),
            blobs: 0,
            max_packs,
        }
    }

    /// A file, when this pack completes one.
    pub fn push(&mut self, entry: PackEntry) -> Option<IndexFile> {
        self.blobs += IndexFile::weight(&entry);
        self.current.packs.push(entry);
        if self.blobs >= bounds::BLOBS_PER_INDEX_FILE || self.current.packs.len() >= self.max_packs
        {
            self.blobs = 0;
            return Some(std::mem::take(&mut self.current));
        }
        None
    }

    /// The last file, unless empty.
    pub fn finish(self) -> Option<IndexFile> {
        (!self.current.packs.is_empty()).then_some(self.current)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct BlobLocation {
    pub pack: u32,
    pub offset: u32,
    pub length: u32,
    pub raw_length: u32,
}

/// In memory: packs are numbered so each blob entry stays small (its id and four u32s), and
/// blobs are one vector sorted by id, searched by bisection: 48 bytes a blob, about half what
/// a hash map of the same entries takes, and nothing to rehash as a store grows.
#[derive(Default)]
pub struct Index {
    packs: Vec<Id>,
    /// Where each pack's last indexed blob ends (by pack number).
    ends: Vec<u64>,
    pack_numbers: HashMap<Id, u32>,
    /// Each blob once, sorted by id, located in its best-ranked pack.
    blobs: Vec<(Id, BlobLocation)>,
    /// Packs that are missing or damaged: their blobs are not counted as stored.
    unusable: HashSet<u32>,
    /// Packs holding tree blobs (writers keep them apart from data packs).
    tree_packs: HashSet<u32>,
    /// Packs a prune marked for deletion: readable, but writers save their blobs anew.
    retiring: HashSet<u32>,
    /// Each pack's rank (see `IndexBuilder::add`), by number.
    ranks: Vec<u8>,
    /// Where the blobs whose ids start with each `fanout_bits`-bit prefix begin (ids are
    /// uniform hashes): a lookup bisects a run of about eight entries, not the whole index
    /// (measured: bisecting 10M entries was 40% of an unchanged re-backup).
    fanout: Vec<u32>,
    fanout_bits: u32,
}

/// Packs being added to an `Index` (`Index::builder`).
pub struct IndexBuilder<'a> {
    index: &'a mut Index,
    added: Vec<(Id, BlobLocation)>,
}

impl IndexBuilder<'_> {
    /// One pack's blobs. `rank`: 0 for a usable pack, 1 for one sound but marked for deletion,
    /// 2 for one missing or damaged. A blob is located in its best-ranked pack (among equals,
    /// the first pack given; a blob already indexed moves only to a better rank), so a
    /// retiring pack that holds the only sound copy counts as needed, and is never deleted
    /// for a damaged one.
    pub fn add(&mut self, pack: &PackEntry, rank: u8) {
        let index = &mut *self.index;
        let number = index.number(pack);
        let r = rank.min(2);
        if r > 0 {
            index.unusable.insert(number);
        }
        let best = &mut index.ranks[number as usize];
        *best = (*best).min(r);
        self.added.extend(pack.blobs.iter().map(|b| {
            (
                b.id,
                BlobLocation {
                    pack: number,
                    offset: b.offset,
                    length: b.length,
                    raw_length: b.raw_length,
                },
            )
        }));
    }

    /// Every pack added so far (and before): number, id, and where its last blob ends over
    /// every listing of it.
    pub fn packs(&self) -> impl Iterator<Item = (u32, Id, u64)> + '_ {
        let index = &*self.index;
        (0..index.packs.len()).map(|n| (n as u32, index.packs[n], index.ends[n]))
    }

    /// A pack found missing or damaged after its blobs were added (judged over all its
    /// listings): rank 2, whatever a single listing said.
    pub fn demote(&mut self, number: u32) {
        self.index.ranks[number as usize] = 2;
        self.index.unusable.insert(number);
    }

    pub fn finish(self) {
        let IndexBuilder { index, mut added } = self;
        let ranks = &index.ranks;
        // Pack numbers are given in the order packs are first seen: among copies of one rank,
        // the first pack given wins. In place, no scratch, no hashing per comparison.
        added.sort_unstable_by_key(|(id, l)| (*id, ranks[l.pack as usize], l.pack, l.offset));
        added.dedup_by_key(|(id, _)| *id);
        added.shrink_to_fit();
        index.merge(added);
    }
}

impl Index {
    /// Adds the packs of index files; `rank` as in `IndexBuilder::add`.
    pub fn add_files(&mut self, files: Vec<IndexFile>, rank: impl Fn(&Id) -> u8) {
        let mut builder = self.builder();
        for file in files {
            for pack in file.packs {
                let r = rank(&pack.id);
                builder.add(&pack, r);
            }
        }
        builder.finish();
    }

    pub fn add_file(&mut self, file: &IndexFile) {
        self.add_files(vec![file.clone()], |_| 0);
    }

    /// Adds packs one at a time (as index files are read, each dropped once added: the
    /// entries are held once, 48 bytes a blob), then merges them in at `finish`.
    pub fn builder(&mut self) -> IndexBuilder<'_> {
        IndexBuilder {
            index: self,
            added: Vec::new(),
        }
    }

    /// 0 usable, 1 sound but marked for deletion, 2 missing or damaged.
    fn rank(&self, pack: u32) -> u8 {
        self.ranks.get(pack as usize).copied().unwrap_or(2)
    }

    /// The pack's number, given on first sight; its end and tree flag recorded.
    fn number(&mut self, pack: &PackEntry) -> u32 {
        let number = *self.pack_numbers.entry(pack.id).or_insert_with(|| {
            self.packs.push(pack.id);
            self.ends.push(0);
            self.ranks.push(2);
            u32::try_from(self.packs.len() - 1).expect("fewer than 2^32 packs")
        });
        let end = &mut self.ends[number as usize];
        *end = (*end).max(pack.end());
        if pack.holds_trees() {
            self.tree_packs.insert(number);
        }
        number
    }

    /// Sorted, distinct entries merged in; an id already indexed keeps its location unless
    /// the added one is in a better-ranked pack (a sound copy found beside a damaged one).
    fn merge(&mut self, added: Vec<(Id, BlobLocation)>) {
        self.merge_sorted(added);
        self.build_fanout();
    }

    fn build_fanout(&mut self) {
        let n = self.blobs.len();
        let bits = (usize::BITS - n.leading_zeros())
            .saturating_sub(3)
            .clamp(1, 22);
        let mut fanout = vec![0u32; (1usize << bits) + 1];
        for (id, _) in &self.blobs {
            fanout[prefix(id, bits) + 1] += 1;
        }
        for i in 1..fanout.len() {
            fanout[i] += fanout[i - 1];
        }
        self.fanout = fanout;
        self.fanout_bits = bits;
    }

    fn merge_sorted(&mut self, added: Vec<(Id, BlobLocation)>) {
        if self.blobs.is_empty() {
            self.blobs = added;
            return;
        }
        let old = std::mem::take(&mut self.blobs);
        let mut out = Vec::with_capacity(old.len() + added.len());
        let mut added = added.into_iter().peekable();
        for mut entry in old {
            while let Some(next) = added.next_if(|(id, _)| *id < entry.0) {
                out.push(next);
            }
            if let Some(same) = added.next_if(|(id, _)| *id == entry.0) {
                if self.rank(same.1.pack) < self.rank(entry.1.pack) {
                    entry = same;
                }
            }
            out.push(entry);
        }
        out.extend(added);
        self.blobs = out;
    }

    fn find(&self, id: &Id) -> Option<&BlobLocation> {
        self.position(id).map(|i| &self.blobs[i].1)
    }

    /// Where the blob is in id order: a dense number for sets over the index (`BlobSet`).
    pub fn position(&self, id: &Id) -> Option<usize> {
        if self.blobs.is_empty() {
            return None;
        }
        let p = prefix(id, self.fanout_bits);
        let (start, end) = (self.fanout[p] as usize, self.fanout[p + 1] as usize);
        self.blobs[start..end]
            .binary_search_by(|(b, _)| b.cmp(id))
            .ok()
            .map(|i| start + i)
    }

    pub fn id_at(&self, position: usize) -> &Id {
        &self.blobs[position].0
    }

    pub fn get(&self, id: &Id) -> Option<BlobLocation> {
        self.find(id).copied()
    }

    /// Stored in a pack that is there, sound, and not being retired by a prune.
    pub fn contains(&self, id: &Id) -> bool {
        self.usable(id).is_some()
    }

    /// Where the blob is, when `contains` says yes: one lookup for both.
    pub fn usable(&self, id: &Id) -> Option<BlobLocation> {
        // Rank 0 is "neither unusable nor retiring" (`add`, `demote`, `set_retiring`); the
        // set is asked too, so that the two can never disagree in the unsafe direction.
        self.find(id)
            .filter(|l| self.rank(l.pack) == 0 && !self.unusable.contains(&l.pack))
            .copied()
    }

    /// A pack that `add_files` was told is not usable is marked for deletion, not damaged.
    pub fn set_retiring(&mut self, id: &Id) {
        if let Some(&n) = self.pack_numbers.get(id) {
            self.ranks[n as usize] = 1;
            self.unusable.remove(&n);
            self.retiring.insert(n);
        }
    }

    /// Each pack's blobs as the index locates them: a blob stored twice appears only in the
    /// pack it is read from.
    pub fn pack_entries(&self) -> Vec<PackEntry> {
        self.pack_entries_each().collect()
    }

    /// `pack_entries` one pack at a time, by pack number: 4 bytes a blob of working memory
    /// (the blobs' positions grouped by pack) instead of a second copy of the index.
    pub fn pack_entries_each(&self) -> impl Iterator<Item = PackEntry> + '_ {
        let mut starts = vec![0usize; self.packs.len() + 1];
        for (_, l) in &self.blobs {
            starts[l.pack as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        let mut order = vec![0u32; self.blobs.len()];
        for (position, (_, l)) in self.blobs.iter().enumerate() {
            let slot = &mut fill[l.pack as usize];
            order[*slot] = u32::try_from(position).expect("fewer than 2^32 blobs");
            *slot += 1;
        }
        (0..self.packs.len()).map(move |pack| {
            let kind = match self.tree_packs.contains(&(pack as u32)) {
                true => BlobKind::Tree,
                false => BlobKind::Data,
            };
            let mut blobs: Vec<BlobEntry> = order[starts[pack]..starts[pack + 1]]
                .iter()
                .map(|&p| {
                    let (id, l) = &self.blobs[p as usize];
                    BlobEntry {
                        id: *id,
                        kind,
                        offset: l.offset,
                        length: l.length,
                        raw_length: l.raw_length,
                    }
                })
                .collect();
            blobs.sort_by_key(|b| b.offset);
            PackEntry {
                id: self.packs[pack],
                blobs,
            }
        })
    }

    pub fn is_unusable(&self, pack: u32) -> bool {
        self.unusable.contains(&pack)
    }

    pub fn is_tree_pack(&self, pack: u32) -> bool {
        self.tree_packs.contains(&pack)
    }

    pub fn has_pack(&self, id: &Id) -> bool {
        self.pack_numbers.contains_key(id)
    }

    pub fn pack_number(&self, id: &Id) -> Option<u32> {
        self.pack_numbers.get(id).copied()
    }

    /// Where the pack's last indexed blob ends.
    pub fn pack_end(&self, number: u32) -> u64 {
        self.ends.get(number as usize).copied().unwrap_or(0)
    }

    pub fn pack_id(&self, number: u32) -> Id {
        self.packs[number as usize]
    }

    pub fn pack_ids(&self) -> &[Id] {
        &self.packs
    }

    pub fn blob_ids(&self) -> impl Iterator<Item = &Id> {
        self.blobs.iter().map(|(id, _)| id)
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn blobs(&self) -> impl Iterator<Item = (&Id, &BlobLocation)> {
        self.blobs.iter().map(|(id, l)| (id, l))
    }
}

/// The first `bits` bits of an id, as a number.
fn prefix(id: &Id, bits: u32) -> usize {
    let top = u32::from_be_bytes([id.0[0], id.0[1], id.0[2], id.0[3]]);
    (top >> (32 - bits)) as usize
}

pub fn pack_key(id: &Id) -> String {
    let hex = id.hex();
    format!("packs/{}/{}", &hex[..2], hex)
}

#[cfg(test)]
mod tests;
