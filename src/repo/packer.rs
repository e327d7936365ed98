//! The one pack writer: backup, sync and prune's repack all put blobs in packs through it.
//! Sealed blobs go into one of two open packs (data and trees apart, so walking a snapshot reads
//! small, dense tree packs); a full pack is uploaded with several requests in flight, and index
//! files are written only for packs whose upload completed, every `PACKS_PER_INDEX` packs or
//! `INDEX_EVERY`, whichever comes first, so an interrupted run loses little.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Result};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use bytes::Bytes;

use super::backend::Backend;
use super::bounds::BLOBS_PER_INDEX_FILE;
use super::cache::Cache;
use super::crypto::Keys;
use super::id::Id;
use super::index::{pack_key, BlobKind, IndexFile, PackEntry};
use super::pack::{FinishedPack, PackBuilder};
use super::{Repo, INDEX_AAD, TREE_PACKS};
use crate::kill_point;

/// Where packs and index files go: the part of a `Repo` a writer needs, cheap to clone into
/// the uploader task.
#[derive(Clone)]
pub struct Sink {
    backend: Backend,
    keys: Arc<Keys>,
    cache: Arc<Cache>,
    pack_size: u64,
    binary_index: bool,
}

impl Repo {
    pub fn sink(&self) -> Sink {
        Sink {
            backend: self.backend.clone(),
            keys: self.keys.clone(),
            cache: self.cache.clone(),
            pack_size: self.config.pack_size,
            binary_index: super::config::binary_index(self.config.version),
        }
    }
}

impl Sink {
    /// Tree packs of a remote store also go to the local cache: the next backup compares
    /// with these trees, and reading them back one range at a time is what made S3
    /// re-backups slow.
    pub async fn save_pack(&self, entry: &PackEntry, bytes: Bytes) -> Result<()> {
        self.backend
            .put_pack(&pack_key(&entry.id), bytes.clone(), !entry.holds_trees())
            .await?;
        if entry.holds_trees() {
            self.cache.put(TREE_PACKS, &entry.id, &bytes);
        }
        Ok(())
    }

    pub async fn write_index(&self, file: &IndexFile) -> Result<Id> {
        let plain = match self.binary_index {
            true => super::index_codec::encode(file),
            false => serde_json::to_vec(file)?,
        };
        let sealed = self.keys.seal(INDEX_AAD, &plain);
        let id = Id::of_bytes(&sealed);
        self.backend
            .put(&format!("index/{}", id.hex()), Bytes::from(sealed))
            .await?;
        Ok(id)
    }
}

/// Pack bytes being uploaded at once, at most.
const UPLOAD_BUDGET: u64 = 48 * 1024 * 1024;
/// Write an index file after this many uploaded packs...
const PACKS_PER_INDEX: usize = 8;
/// ...or after this long with uploaded packs that no index file names yet.
const INDEX_EVERY: Duration = Duration::from_secs(60);

enum Msg {
    Pack(FinishedPack),
    /// Answered once every pack sent before it is uploaded and named by an index file.
    Barrier(oneshot::Sender<()>),
}

pub struct PackWriter {
    keys: Arc<Keys>,
    pack_size: usize,
    data: Mutex<PackBuilder>,
    trees: Mutex<PackBuilder>,
    /// Taken by `close`, which lets the uploader drain its queue and finish.
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    /// Every pack this writer uploaded and indexed (with their blobs only when asked for:
    /// a large backup would hold its whole index twice).
    written: Arc<Mutex<Written>>,
}

#[derive(Default)]
struct Written {
    ids: Vec<Id>,
    entries: Option<Vec<PackEntry>>,
}

impl PackWriter {
    /// Returns the writer and the task that uploads what it packs (its error says why the
    /// writer stopped).
    /// `keep_entries`: remember the blobs of each written pack (see `written`).
    pub fn start(
        sink: Sink,
        concurrency: usize,
        keep_entries: bool,
    ) -> (Arc<PackWriter>, tokio::task::JoinHandle<Result<()>>) {
        let (tx, rx) = mpsc::channel(1);
        let written = Arc::new(Mutex::new(Written {
            ids: Vec::new(),
            entries: keep_entries.then(Vec::new),
        }));
        let writer = Arc::new(PackWriter {
            keys: sink.keys.clone(),
            pack_size: sink.pack_size as usize,
            data: Mutex::new(PackBuilder::default()),
            trees: Mutex::new(PackBuilder::default()),
            tx: Mutex::new(Some(tx)),
            written: written.clone(),
        });
        let uploader = tokio::spawn(upload(sink, rx, concurrency, written));
        (writer, uploader)
    }

    /// Adds a sealed blob; returns the open pack when this filled it (send it on).
    pub fn add_sealed(
        &self,
        id: Id,
        kind: BlobKind,
        sealed: &[u8],
        raw_length: usize,
    ) -> Option<PackBuilder> {
        let packer = match kind {
            BlobKind::Data => &self.data,
            BlobKind::Tree => &self.trees,
        };
        let mut packer = packer.lock().expect("packer");
        if packer.is_empty() {
            packer.reserve(self.pack_size + self.pack_size / 8);
        }
        packer.add(id, kind, sealed, raw_length);
        (packer.len() >= self.pack_size).then(|| std::mem::take(&mut *packer))
    }

    /// A blob already sealed (by this store's data key), as it is: repacks and copies between
    /// stores that share keys.
    pub async fn add_raw(
        &self,
        id: Id,
        kind: BlobKind,
        sealed: &[u8],
        raw_length: usize,
    ) -> Result<()> {
        if let Some(full) = self.add_sealed(id, kind, sealed, raw_length) {
            self.send(full).await?;
        }
        Ok(())
    }

    /// From blocking code (sealing threads).
    pub fn send_blocking(&self, pack: PackBuilder) -> Result<()> {
        let finished = pack.finish(&self.keys);
        self.sender()?
            .blocking_send(Msg::Pack(finished))
            .map_err(|_| stopped())
    }

    pub async fn send(&self, pack: PackBuilder) -> Result<()> {
        let finished = pack.finish(&self.keys);
        self.sender()?
            .send(Msg::Pack(finished))
            .await
            .map_err(|_| stopped())
    }

    fn take_open(&self) -> Vec<PackBuilder> {
        [&self.data, &self.trees]
            .into_iter()
            .map(|p| std::mem::take(&mut *p.lock().expect("packer")))
            .filter(|p| !p.is_empty())
            .collect()
    }

    /// Sends the partly filled packs, from blocking code.
    pub fn flush_blocking(&self) -> Result<()> {
        for pack in self.take_open() {
            self.send_blocking(pack)?;
        }
        Ok(())
    }

    /// Sends the partly filled packs and waits until everything sent so far is uploaded and
    /// indexed: what a commit may then refer to is in the store.
    pub async fn settle(&self) -> Result<()> {
        for pack in self.take_open() {
            self.send(pack).await?;
        }
        let (tx, rx) = oneshot::channel();
        self.sender()?
            .send(Msg::Barrier(tx))
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    /// Ends the run: the uploader finishes once its queue is empty.
    pub fn close(&self) {
        self.tx.lock().expect("sender").take();
    }

    /// Ids of the packs uploaded and indexed so far.
    pub fn written_ids(&self) -> Vec<Id> {
        self.written.lock().expect("written").ids.clone()
    }

    /// The packs uploaded and indexed so far, with their blobs (empty unless the writer was
    /// started with `keep_entries`).
    pub fn written(&self) -> Vec<PackEntry> {
        let w = self.written.lock().expect("written");
        w.entries.clone().unwrap_or_default()
    }

    fn sender(&self) -> Result<mpsc::Sender<Msg>> {
        let tx = self.tx.lock().expect("sender").clone();
        tx.ok_or_else(|| anyhow!("internal: a pack was sealed after the writer was closed"))
    }
}

/// The uploader ends early only on an error, which it reports itself; this says why we stopped.
fn stopped() -> anyhow::Error {
    anyhow!("the pack uploader stopped (see the error it reported)")
}

/// How many uploads at once: each holds a whole pack, so bytes in flight are capped too.
fn upload_slots(concurrency: usize, pack_size: u64) -> usize {
    let by_memory = (UPLOAD_BUDGET / pack_size.max(1)).max(2) as usize;
    concurrency.min(by_memory).max(1)
}

async fn upload(
    sink: Sink,
    mut rx: mpsc::Receiver<Msg>,
    concurrency: usize,
    written: Arc<Mutex<Written>>,
) -> Result<()> {
    let slots = upload_slots(concurrency, sink.pack_size);
    let mut inflight = FuturesUnordered::new();
    let mut pending = Pending {
        sink: sink.clone(),
        file: IndexFile::default(),
        blobs: 0,
        written,
    };
    let mut ticker = tokio::time::interval(INDEX_EVERY);
    ticker.tick().await;
    let mut open = true;
    while open || !inflight.is_empty() {
        tokio::select! {
            msg = rx.recv(), if open && inflight.len() < slots => match msg {
                Some(Msg::Pack(pack)) => inflight.push(upload_one(sink.clone(), pack)),
                Some(Msg::Barrier(done)) => {
                    while let Some(entry) = inflight.next().await {
                        pending.uploaded(entry?).await?;
                    }
                    pending.write().await?;
                    let _ = done.send(());
                }
                None => open = false,
            },
            Some(entry) = inflight.next(), if !inflight.is_empty() => {
                pending.uploaded(entry?).await?;
            }
            _ = ticker.tick() => pending.write().await?,
        }
    }
    pending.write().await
}

async fn upload_one(sink: Sink, pack: FinishedPack) -> Result<PackEntry> {
    sink.save_pack(&pack.entry, pack.bytes).await?;
    kill_point::here("packer:uploaded");
    Ok(pack.entry)
}

/// Uploaded packs that no index file names yet.
struct Pending {
    sink: Sink,
    file: IndexFile,
    /// Blobs of `file`, as `IndexFile::split` counts them.
    blobs: usize,
    written: Arc<Mutex<Written>>,
}

impl Pending {
    /// Index files are cut as `IndexFile::split` cuts them, so they stay within
    /// `bounds::index_file`.
    async fn uploaded(&mut self, entry: PackEntry) -> Result<()> {
        self.blobs += IndexFile::weight(&entry);
        self.file.packs.push(entry);
        if self.file.packs.len() >= PACKS_PER_INDEX || self.blobs >= BLOBS_PER_INDEX_FILE {
            self.write().await?;
        }
        Ok(())
    }

    async fn write(&mut self) -> Result<()> {
        if self.file.packs.is_empty() {
            return Ok(());
        }
        self.sink.write_index(&self.file).await?;
        kill_point::here("packer:indexed");
        let done = std::mem::take(&mut self.file.packs);
        self.blobs = 0;
        let mut w = self.written.lock().expect("written");
        w.ids.extend(done.iter().map(|e| e.id));
        if let Some(entries) = &mut w.entries {
            entries.extend(done);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_capped_by_bytes_in_flight() {
        // 16 MiB packs: 48 MiB allows 3 at once, whatever the concurrency asked for.
        assert_eq!(upload_slots(8, 16 << 20), 3);
        // Small packs: the asked concurrency.
        assert_eq!(upload_slots(8, 64 << 10), 8);
        // Never fewer than one, never zero from a zero request.
        assert_eq!(upload_slots(0, 64 << 10), 1);
        // Huge packs still get two.
        assert_eq!(upload_slots(8, 1 << 30), 2);
    }
}
