//! The index: which pack holds each blob, and where. Stored as encrypted `index/<id>` files,
//! each describing a set of packs that were fully uploaded before the file was written.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

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

impl PackEntry {
    pub fn holds_trees(&self) -> bool {
        self.blobs.iter().any(|b| b.kind == BlobKind::Tree)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IndexFile {
    pub packs: Vec<PackEntry>,
}

#[derive(Clone, Copy, Debug)]
pub struct BlobLocation {
    pub pack: u32,
    pub offset: u32,
    pub length: u32,
    pub raw_length: u32,
}

/// In memory: packs are numbered so each blob entry stays small (a few bytes plus its id).
#[derive(Default)]
pub struct Index {
    packs: Vec<Id>,
    pack_numbers: HashMap<Id, u32>,
    blobs: HashMap<Id, BlobLocation>,
    /// Packs that are missing or damaged: their blobs are not counted as stored.
    unusable: HashSet<u32>,
    /// Packs holding tree blobs (writers keep them apart from data packs).
    tree_packs: HashSet<u32>,
    /// Packs a prune marked for deletion: readable, but writers save their blobs anew.
    retiring: HashSet<u32>,
}

impl Index {
    /// Adds the packs of index files; where a blob is in several packs, a pack for which
    /// `usable` says yes wins.
    /// `rank`: 0 for a usable pack, 1 for one sound but marked for deletion, 2 for one missing
    /// or damaged. A blob is located in its best-ranked pack, so a retiring pack that holds the
    /// only sound copy counts as needed, and is never deleted for a damaged one.
    pub fn add_files(&mut self, files: &[IndexFile], rank: impl Fn(&Id) -> u8) {
        for pass in [0, 1, 2] {
            for f in files {
                let file = IndexFile {
                    packs: f
                        .packs
                        .iter()
                        .filter(|p| rank(&p.id).min(2) == pass)
                        .cloned()
                        .collect(),
                };
                self.add_file(&file);
                if pass > 0 {
                    for p in &file.packs {
                        self.unusable.insert(self.pack_numbers[&p.id]);
                    }
                }
            }
        }
    }

    pub fn add_file(&mut self, file: &IndexFile) {
        for pack in &file.packs {
            let number = *self.pack_numbers.entry(pack.id).or_insert_with(|| {
                self.packs.push(pack.id);
                (self.packs.len() - 1) as u32
            });
            if pack.holds_trees() {
                self.tree_packs.insert(number);
            }
            for b in &pack.blobs {
                self.blobs.entry(b.id).or_insert(BlobLocation {
                    pack: number,
                    offset: b.offset,
                    length: b.length,
                    raw_length: b.raw_length,
                });
            }
        }
    }

    pub fn get(&self, id: &Id) -> Option<BlobLocation> {
        self.blobs.get(id).copied()
    }

    /// Stored in a pack that is there, sound, and not being retired by a prune.
    pub fn contains(&self, id: &Id) -> bool {
        self.blobs
            .get(id)
            .is_some_and(|l| !self.unusable.contains(&l.pack) && !self.retiring.contains(&l.pack))
    }

    /// A pack that `add_files` was told is not usable is marked for deletion, not damaged.
    pub fn set_retiring(&mut self, id: &Id) {
        if let Some(&n) = self.pack_numbers.get(id) {
            self.unusable.remove(&n);
            self.retiring.insert(n);
        }
    }

    /// Each pack's blobs as the index locates them: a blob stored twice appears only in the
    /// pack it is read from.
    pub fn pack_entries(&self) -> Vec<PackEntry> {
        let mut entries: Vec<PackEntry> = self
            .packs
            .iter()
            .map(|id| PackEntry {
                id: *id,
                blobs: Vec::new(),
            })
            .collect();
        for (id, l) in &self.blobs {
            let kind = if self.tree_packs.contains(&l.pack) {
                BlobKind::Tree
            } else {
                BlobKind::Data
            };
            entries[l.pack as usize].blobs.push(BlobEntry {
                id: *id,
                kind,
                offset: l.offset,
                length: l.length,
                raw_length: l.raw_length,
            });
        }
        for e in &mut entries {
            e.blobs.sort_by_key(|b| b.offset);
        }
        entries
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

    pub fn pack_id(&self, number: u32) -> Id {
        self.packs[number as usize]
    }

    pub fn pack_ids(&self) -> &[Id] {
        &self.packs
    }

    pub fn blob_ids(&self) -> impl Iterator<Item = &Id> {
        self.blobs.keys()
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn blobs(&self) -> impl Iterator<Item = (&Id, &BlobLocation)> {
        self.blobs.iter()
    }
}

pub fn pack_key(id: &Id) -> String {
    let hex = id.hex();
    format!("packs/{}/{}", &hex[..2], hex)
}
