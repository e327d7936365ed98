//! What only an `IndexedRepo` can do: ask where a blob is, and read packs, whole or by
//! ranges, within the bounds the index allows.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Result};
use bytes::Bytes;
use futures::{stream, StreamExt};

use super::bounds;
use super::id::Id;
use super::index::pack_key;
use super::tree::Tree;
use super::tree_pages::{self, parse_tree_blob, TreeBlob};
use super::{load, open_blob, BlobRef, IndexedRepo, META_CONCURRENCY, TREE_PACKS};
use crate::error::KlosetError;

impl IndexedRepo {
    /// What loading the index found missing or damaged.
    pub fn health(&self) -> &load::Health {
        &self.health
    }

    /// Stored where writers may refer to it (not in a damaged, missing or retiring pack).
    pub fn has_blob(&self, id: &Id) -> bool {
        self.index.contains(id)
    }

    /// The pack of a blob `has_blob` says yes to.
    pub fn usable_blob(&self, id: &Id) -> Option<u32> {
        self.index.usable(id).map(|l| l.pack)
    }

    /// Can be read now: indexed in a pack that is there and sound (retiring packs are).
    pub fn is_readable(&self, id: &Id) -> bool {
        self.index
            .get(id)
            .is_some_and(|l| !self.index.is_unusable(l.pack))
    }

    /// A tree blob's plaintext size as indexed (0 when not indexed: loading it fails anyway).
    pub fn tree_size(&self, id: &Id) -> u64 {
        self.index.get(id).map_or(0, |l| u64::from(l.raw_length))
    }

    pub fn blob(&self, id: &Id) -> Option<BlobRef> {
        self.index.get(id).map(|l| BlobRef {
            pack: l.pack,
            offset: l.offset,
            length: l.length,
            raw_length: l.raw_length,
        })
    }

    /// The pack of a blob is missing or damaged.
    pub fn in_unusable_pack(&self, id: &Id) -> bool {
        self.index
            .get(id)
            .is_some_and(|l| self.index.is_unusable(l.pack))
    }

    pub fn blob_count(&self) -> usize {
        self.index.blob_count()
    }

    /// Every indexed blob with where it is.
    pub fn blobs(&self) -> impl Iterator<Item = (Id, BlobRef)> + '_ {
        self.index.blobs().map(|(id, l)| {
            let at = BlobRef {
                pack: l.pack,
                offset: l.offset,
                length: l.length,
                raw_length: l.raw_length,
            };
            (*id, at)
        })
    }

    pub fn pack_id(&self, pack: u32) -> Id {
        self.index.pack_id(pack)
    }

    /// The object key of an indexed pack (by the number in a `BlobRef`).
    pub fn pack_key_of(&self, pack: u32) -> String {
        pack_key(&self.index.pack_id(pack))
    }

    /// Object keys of every indexed pack.
    pub fn indexed_pack_keys(&self) -> Vec<String> {
        self.index.pack_ids().iter().map(pack_key).collect()
    }

    /// The number of an indexed pack.
    pub fn pack_number(&self, id: &Id) -> Option<u32> {
        self.index.pack_number(id)
    }

    /// A whole pack, as stored; None when it is not in the store. Never read when it is
    /// larger than its index allows.
    pub async fn read_stored_pack(&self, pack: u32) -> Result<Option<Bytes>> {
        let key = self.pack_key_of(pack);
        let what = format!("pack {key}");
        self.backend
            .get_bounded(&key, &what, self.pack_bound(pack))
            .await
    }

    /// The most a pack can be: its blobs as the index places them, and a header.
    fn pack_bound(&self, pack: u32) -> u64 {
        bounds::pack(self.index.pack_end(pack), self.config.pack_size)
    }

    /// A whole pack, as stored: never read when it is larger than its index allows.
    pub async fn read_whole_pack(&self, pack: u32) -> Result<Bytes> {
        let key = self.pack_key_of(pack);
        let what = format!("pack {key}");
        let max = self.pack_bound(pack);
        self.backend
            .get_bounded(&key, &what, max)
            .await?
            .ok_or_else(|| {
                KlosetError::Integrity(format!("pack {key} is missing from the store")).into()
            })
    }

    /// Sealed byte ranges of a pack holding trees: from the local cache of a remote store,
    /// else the whole pack is fetched once and cached (the cache re-hashes it on every read).
    async fn read_tree_pack_ranges(
        &self,
        pack: u32,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<Bytes>> {
        if !self.backend.remote || self.bypass_cache || !self.index.is_tree_pack(pack) {
            return self.read_pack_ranges(pack, ranges).await;
        }
        let id = self.index.pack_id(pack);
        let whole = match self.cache.get(TREE_PACKS, &id, self.pack_bound(pack)) {
            Some(bytes) => Bytes::from(bytes),
            None => {
                let _permit = self.whole_tree_packs.acquire().await?;
                let bytes = self.read_whole_pack(pack).await?;
                if Id::of_bytes(&bytes) == id {
                    self.cache.put(TREE_PACKS, &id, &bytes);
                }
                bytes
            }
        };
        ranges
            .iter()
            .map(|r| {
                whole
                    .get(r.start as usize..r.end as usize)
                    .map(|_| whole.slice(r.start as usize..r.end as usize))
                    .ok_or_else(|| {
                        KlosetError::Integrity(format!(
                            "pack {} is shorter than the index says",
                            id.short()
                        ))
                        .into()
                    })
            })
            .collect()
    }

    /// Sealed byte ranges of one pack, in one request where the backend can.
    pub async fn read_pack_ranges(
        &self,
        pack: u32,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<Bytes>> {
        self.backend
            .get_ranges(&self.pack_key_of(pack), ranges)
            .await
    }

    /// Reads, decrypts and verifies one blob.
    pub async fn read_blob(&self, id: &Id) -> Result<Vec<u8>> {
        let loc = self.blob(id).ok_or_else(|| {
            KlosetError::Integrity(format!(
                "blob {} is in no index file: run 'kloset check', then 'kloset repair index' if a pack still holds it",
                id.short()
            ))
        })?;
        let data = self
            .read_tree_pack_ranges(loc.pack, &[loc.range()])
            .await?
            .pop()
            .ok_or_else(|| anyhow!("empty range read"))?;
        open_blob(&self.keys, id, &data, loc.raw_length)
    }

    pub async fn load_tree(&self, id: &Id) -> Result<Tree> {
        self.load_trees_each(vec![*id]).await.pop().map_or_else(
            || Err(anyhow!("internal: tree {} not loaded", id.short())),
            |(_, t)| t,
        )
    }

    /// Many trees at once, one coalesced ranged read per pack: walking a snapshot costs a
    /// request per pack per level instead of a request per directory.
    pub async fn load_trees(&self, ids: Vec<Id>) -> Result<Vec<(Id, Tree)>> {
        self.load_trees_each(ids)
            .await
            .into_iter()
            .map(|(id, t)| t.map(|t| (id, t)))
            .collect()
    }

    /// Like `load_trees`, with each tree's own outcome: one damaged tree does not hide others.
    /// Paged trees come assembled, their pages fetched together as one more round.
    pub async fn load_trees_each(&self, ids: Vec<Id>) -> Vec<(Id, Result<Tree>)> {
        let mut out = Vec::new();
        let mut heads = Vec::new();
        for (id, blob) in self.load_tree_blobs_each(ids).await {
            match blob {
                Ok(TreeBlob::Whole(tree)) => out.push((id, Ok(tree))),
                Ok(TreeBlob::Head(head)) => heads.push((id, head)),
                Err(e) => out.push((id, Err(e))),
            }
        }
        if heads.is_empty() {
            return out;
        }
        let wanted: HashSet<Id> = heads.iter().flat_map(|(_, h)| h.pages.clone()).collect();
        let loaded: HashMap<Id, Result<TreeBlob>> = self
            .load_tree_blobs_each(wanted.into_iter().collect())
            .await
            .into_iter()
            .collect();
        let mut pages = tree_pages::Pages::new(loaded, &heads);
        for (id, head) in heads {
            out.push((id, tree_pages::assemble(&id, head, &mut pages)));
        }
        out
    }

    /// Tree blobs as stored (whole trees, heads, pages), one coalesced read per pack.
    async fn load_tree_blobs_each(&self, ids: Vec<Id>) -> Vec<(Id, Result<TreeBlob>)> {
        let mut out = Vec::new();
        let mut by_pack: HashMap<u32, Vec<(Id, BlobRef)>> = HashMap::new();
        for id in ids {
            match self.blob(&id) {
                Some(loc) => by_pack.entry(loc.pack).or_default().push((id, loc)),
                None => out.push((
                    id,
                    Err(KlosetError::Integrity(format!(
                        "tree {} is in no index file: run 'kloset check', then 'kloset repair index' if a pack still holds it",
                        id.short()
                    ))
                    .into()),
                )),
            }
        }
        let parts: Vec<Vec<(Id, Result<TreeBlob>)>> = stream::iter(by_pack)
            .map(|(pack, blobs)| async move {
                let ranges: Vec<_> = blobs.iter().map(|(_, l)| l.range()).collect();
                let data = match self.read_tree_pack_ranges(pack, &ranges).await {
                    Ok(d) => d,
                    Err(e) => {
                        // Each tree gets the error, with its class kept.
                        return blobs
                            .iter()
                            .map(|(id, _)| (*id, Err(super::load::same_class(&e))))
                            .collect();
                    }
                };
                let keys = self.keys.clone();
                let ids: Vec<Id> = blobs.iter().map(|(id, _)| *id).collect();
                tokio::task::spawn_blocking(move || {
                    blobs
                        .iter()
                        .zip(data)
                        .map(|((id, loc), sealed)| {
                            let tree = open_blob(&keys, id, &sealed, loc.raw_length)
                                .and_then(|raw| parse_tree_blob(id, &raw));
                            (*id, tree)
                        })
                        .collect::<Vec<_>>()
                })
                .await
                // A task that panicked opened nothing: every tree of it is an error, never
                // an empty answer (prune would count their blobs as unused).
                .unwrap_or_else(|e| {
                    let msg = format!("internal: reading trees failed: {e}");
                    ids.iter().map(|id| (*id, Err(anyhow!("{msg}")))).collect()
                })
            })
            .buffer_unordered(META_CONCURRENCY)
            .collect()
            .await;
        out.extend(parts.into_iter().flatten());
        out
    }
}
