//! The write half of a backup: chunk, id, dedup and seal blobs on CPU threads; packing,
//! uploading and indexing are the pack writer's (`repo::packer`). It also records every pack
//! of the store the run refers to, which the commit checks are still there.

use std::collections::HashSet;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use fastcdc::v2020::{FastCDC, Normalization, StreamCDC};

use super::buffers::BufferPool;
use super::trainer::Trainer;
use crate::error::KlosetError;
use crate::repo::bounds;
use crate::repo::config::ChunkerParams;
use crate::repo::crypto::Keys;
use crate::repo::id::Id;
use crate::repo::index::BlobKind;
use crate::repo::pack::PackBuilder;
use crate::repo::packer::PackWriter;
use crate::repo::tree::Tree;
use crate::repo::tree_pages::{self, Encoded};
use crate::repo::IndexedRepo;

#[derive(Default)]
pub struct SaverStats {
    pub new_blobs: AtomicU64,
    pub new_bytes: AtomicU64,
    pub stored_bytes: AtomicU64,
}

pub struct BlobSaver {
    repo: Arc<IndexedRepo>,
    keys: Arc<Keys>,
    params: ChunkerParams,
    /// Blobs saved by this run; the store's own are asked of the repo's index.
    saved: Mutex<HashSet<Id>>,
    pub writer: Arc<PackWriter>,
    sealing: BufferPool,
    trainer: Option<Trainer>,
    /// Packs of the store this run refers to: checked to be still there before the commit.
    reused: Mutex<HashSet<u32>>,
    /// Count what would be new, seal and store nothing.
    dry_run: bool,
    pub stats: SaverStats,
}

impl BlobSaver {
    /// Returns the saver and the task that uploads what it packs.
    pub fn start(
        repo: Arc<IndexedRepo>,
        concurrency: usize,
        dry_run: bool,
    ) -> (Arc<BlobSaver>, tokio::task::JoinHandle<Result<()>>) {
        let (writer, uploader) = PackWriter::start(repo.sink(), concurrency, false);
        let saver = Arc::new(BlobSaver {
            keys: repo.keys().clone(),
            params: repo.config().chunker.clone(),
            repo: repo.clone(),
            saved: Mutex::new(HashSet::new()),
            writer,
            sealing: BufferPool::new(32),
            trainer: Trainer::new(repo.clone()).filter(|_| !dry_run),
            reused: Mutex::new(HashSet::new()),
            dry_run,
            stats: SaverStats::default(),
        });
        (saver, uploader)
    }

    pub fn is_known(&self, id: &Id) -> bool {
        self.in_store(id) || self.saved.lock().expect("saved set").contains(id)
    }

    /// The store holds the blob in a usable pack; that pack is then one this run relies on.
    fn in_store(&self, id: &Id) -> bool {
        match self.repo.usable_blob(id) {
            Some(pack) => {
                self.reused.lock().expect("reused").insert(pack);
                true
            }
            None => false,
        }
    }

    /// The store's packs this run refers to.
    pub fn reused_packs(&self) -> Vec<u32> {
        self.reused
            .lock()
            .expect("reused")
            .iter()
            .copied()
            .collect()
    }

    /// Stores one blob unless the store (or this run) already has it.
    pub fn save(&self, kind: BlobKind, data: &[u8]) -> Result<Id> {
        let (id, full) = self.pack(kind, data)?;
        if let Some(pack) = full {
            self.writer.send_blocking(pack)?;
        }
        Ok(id)
    }

    /// A tree, from async code: saving it is cheap, and a full pack is queued without
    /// blocking a runtime thread. `dir` names the directory in the refusal of a tree larger
    /// than readers accept.
    pub async fn save_tree_async(&self, tree: &Tree, dir: &str) -> Result<Id> {
        let (id, full) = self.pack_tree(tree, dir)?;
        for pack in full {
            self.writer.send(pack).await?;
        }
        Ok(id)
    }

    /// Seals a tree's blobs: one, or its pages and then their head (whose id is the tree's).
    /// Returns the packs that filled on the way.
    fn pack_tree(&self, tree: &Tree, dir: &str) -> Result<(Id, Vec<PackBuilder>)> {
        let limit = bounds::tree_limit();
        let mut full = Vec::new();
        let mut pack = |json: &[u8]| -> Result<Id> {
            fits_a_tree(dir, tree.nodes.len(), json.len() as u64, limit)?;
            let (id, filled) = self.pack(BlobKind::Tree, json)?;
            full.extend(filled);
            Ok(id)
        };
        let id = match tree_pages::encode(tree, bounds::tree_page())? {
            Encoded::One(json) => pack(&json)?,
            Encoded::Pages(pages) => {
                let ids = pages.iter().map(|p| pack(p)).collect::<Result<Vec<_>>>()?;
                pack(&tree_pages::head(ids, tree.nodes.len())?)?
            }
        };
        Ok((id, full))
    }

    /// Seals a blob into its packer unless it is stored; returns the packer's content when
    /// that filled it.
    fn pack(&self, kind: BlobKind, data: &[u8]) -> Result<(Id, Option<PackBuilder>)> {
        let id = self.keys.blob_id(data);
        if self.in_store(&id) || !self.saved.lock().expect("saved set").insert(id) {
            return Ok((id, None));
        }
        if self.dry_run {
            self.stats.new_blobs.fetch_add(1, Ordering::Relaxed);
            let len = data.len() as u64;
            self.stats.new_bytes.fetch_add(len, Ordering::Relaxed);
            return Ok((id, None));
        }
        let mut sealed = self.sealing.take();
        let added = {
            let sealed = &mut sealed;
            match kind {
                BlobKind::Data => {
                    if let Some(trainer) = &self.trainer {
                        trainer.offer(data);
                    }
                    self.keys.seal_data_into(&id.0, data, sealed)
                }
                BlobKind::Tree => self.keys.seal_tree_into(&id.0, data, sealed),
            }
            self.stats.new_blobs.fetch_add(1, Ordering::Relaxed);
            let stats = &self.stats;
            stats
                .new_bytes
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            stats
                .stored_bytes
                .fetch_add(sealed.len() as u64, Ordering::Relaxed);
            self.writer.add_sealed(id, kind, sealed, data.len())
        };
        self.sealing.give(sealed);
        Ok((id, added))
    }

    pub fn save_tree(&self, tree: &Tree, dir: &str) -> Result<Id> {
        let (id, full) = self.pack_tree(tree, dir)?;
        for pack in full {
            self.writer.send_blocking(pack)?;
        }
        Ok(id)
    }

    /// Content-defined chunks of an in-memory buffer; `on_chunk` sees each chunk's length.
    pub fn save_chunked(&self, data: &[u8], on_chunk: &dyn Fn(u64)) -> Result<Vec<Id>> {
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let chunker = FastCDC::with_level_and_seed(
            data,
            self.params.min_size,
            self.params.avg_size,
            self.params.max_size,
            Normalization::Level1,
            self.keys.chunker_seed,
        );
        let mut ids = Vec::new();
        for c in chunker {
            ids.push(self.save(BlobKind::Data, &data[c.offset..c.offset + c.length])?);
            on_chunk(c.length as u64);
        }
        Ok(ids)
    }

    /// Streams a reader through the chunker without holding more than one chunk buffer.
    pub fn save_chunked_reader(
        &self,
        reader: impl Read,
        on_chunk: &dyn Fn(u64),
    ) -> Result<(Vec<Id>, u64)> {
        let chunker = StreamCDC::with_level_and_seed(
            reader,
            self.params.min_size,
            self.params.avg_size,
            self.params.max_size,
            Normalization::Level1,
            self.keys.chunker_seed,
        );
        let mut ids = Vec::new();
        let mut size = 0u64;
        for c in chunker {
            let c = c.map_err(|e| anyhow!("read failed: {e}"))?;
            size += c.length as u64;
            ids.push(self.save(BlobKind::Data, &c.data)?);
            on_chunk(c.length as u64);
        }
        Ok((ids, size))
    }

    /// Chunks data that arrives in pieces (ranged downloads) exactly as if it were one buffer:
    /// the chunk that touches the end of what has arrived is held back until more comes, and
    /// since FastCDC restarts at every chunk boundary, the cut points do not change.
    pub fn save_piece(
        &self,
        carry: &mut Vec<u8>,
        piece: &[u8],
        last: bool,
        ids: &mut Vec<Id>,
    ) -> Result<()> {
        carry.extend_from_slice(piece);
        if carry.is_empty() {
            return Ok(());
        }
        let chunker = FastCDC::with_level_and_seed(
            carry,
            self.params.min_size,
            self.params.avg_size,
            self.params.max_size,
            Normalization::Level1,
            self.keys.chunker_seed,
        );
        let mut consumed = 0;
        for c in chunker {
            if !last && c.offset + c.length == carry.len() {
                break;
            }
            ids.push(self.save(BlobKind::Data, &carry[c.offset..c.offset + c.length])?);
            consumed = c.offset + c.length;
        }
        carry.drain(..consumed);
        Ok(())
    }

    /// Sends the last, partly filled packs.
    pub fn flush(&self) -> Result<()> {
        self.writer.flush_blocking()
    }

    /// Waits for a dictionary being trained and stored.
    pub async fn finish_training(&self) {
        if let Some(trainer) = &self.trainer {
            trainer.finish().await;
        }
    }

    /// Ends the run: the uploader finishes once its queue is empty.
    pub fn close(&self) {
        self.writer.close();
    }
}

/// A tree over `limit` bytes would be written and then refused by every reader: the backup
/// stops before its commit instead, naming the directory.
fn fits_a_tree(dir: &str, entries: usize, bytes: u64, limit: u64) -> Result<()> {
    if bytes <= limit {
        return Ok(());
    }
    Err(KlosetError::TreeTooLarge(format!(
        "directory {dir} holds {entries} entries, whose tree would be {bytes} bytes, more than the {limit} bytes a tree may be: exclude part of it (--exclude) or split it into subdirectories"
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_over_the_limit_is_refused_naming_the_directory_and_the_limit() {
        assert!(fits_a_tree("/srv/a", 3, 100, 100).is_ok());
        let e = fits_a_tree("/srv/a", 3, 101, 100).unwrap_err();
        let code = e.downcast_ref::<KlosetError>().map(KlosetError::exit_code);
        assert_eq!(code, Some(24));
        let text = e.to_string();
        assert!(text.contains("directory /srv/a holds 3 entries"), "{text}");
        assert!(
            text.contains("101 bytes") && text.contains("100 bytes"),
            "{text}"
        );
        assert!(text.starts_with("nothing was committed"), "{text}");
    }

    #[test]
    fn the_default_limit_is_what_readers_accept() {
        assert!(bounds::tree_limit() <= bounds::MAX_BLOB);
    }
}
