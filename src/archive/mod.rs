//! Backing up: one archiver over any `Source`. A source lists entries and reads content; the
//! archiver decides what is unchanged since the parent snapshot, saves blobs and trees, and
//! counts. Filesystem and S3 sources live in `connectors`.

pub mod archiver;
pub mod buffers;
pub mod saver;
pub mod trainer;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use async_trait::async_trait;

use crate::progress::Progress;
use crate::repo::tree::Node;
use saver::BlobSaver;

/// One entry of a source: the node the snapshot will record (content not yet filled in) and
/// whatever the source needs to find it again.
pub struct Entry<H> {
    pub node: Node,
    pub handle: H,
}

#[async_trait]
pub trait Source: Send + Sync + 'static {
    type Handle: Send + Sync + 'static;

    /// Identifies this source across runs as `host` (the name recorded, `--host` or this
    /// machine's): the parent snapshot is the newest one of the same host with the same key.
    fn source_key(&self, host: &str) -> String;

    /// What the snapshot covers: absolute paths of a filesystem source, the location of a
    /// bucket.
    fn paths(&self) -> Vec<String> {
        Vec::new()
    }

    /// The source as a snapshot records it, given how the user named it: a filesystem path
    /// as absolute, so that `a` and `/home/me/a` are one source.
    fn recorded(&self, given: &str) -> String {
        given.to_string()
    }

    /// Entries read at once.
    fn concurrency(&self) -> usize;

    /// Bytes the backup will cover, when the source knows before reading.
    fn total_bytes(&self) -> Option<u64> {
        None
    }

    /// Starts working out `total_bytes` in the background, for a progress bar that is shown.
    fn estimate(&self, _progress: &Progress) {}

    /// The root: a directory, or a single file (the snapshot then holds just that entry).
    async fn root(&self) -> Result<Entry<Self::Handle>>;

    /// The entries of a directory, in the order the tree records them. Entries that cannot be
    /// listed are reported to `work` and left out.
    async fn children(
        &self,
        dir: &Entry<Self::Handle>,
        work: &Work,
    ) -> Result<Vec<Entry<Self::Handle>>>;

    /// The parent snapshot's node for the same name says the content has not changed.
    fn unchanged(&self, node: &Node, prev: &Node) -> bool;

    /// The node recorded for an unchanged entry, content taken from the parent's.
    fn reuse(&self, node: Node, prev: &Node) -> Node;

    /// Reads a file's content through the saver and returns its node. Ok(None): it could not
    /// be read; reported to `work`, left out of the snapshot, the backup goes on.
    async fn read(&self, entry: Entry<Self::Handle>, work: &Work) -> Result<Option<Node>>;

    /// `read`, for an entry the parent snapshot has but not `unchanged`: a source whose
    /// entries are made of parts (a key's versions) reads only the parts the parent lacks.
    async fn read_after(
        &self,
        entry: Entry<Self::Handle>,
        _prev: Option<&Node>,
        work: &Work,
    ) -> Result<Option<Node>> {
        self.read(entry, work).await
    }

    /// Several small files, in order. A source where one task per file costs more than the
    /// reading (a local disk) reads them together.
    async fn read_many(
        &self,
        entries: Vec<Entry<Self::Handle>>,
        work: &Work,
    ) -> Result<Vec<Option<Node>>> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            out.push(self.read(e, work).await?);
        }
        Ok(out)
    }
}

/// What a source read needs: where blobs go, where progress and problems are told.
pub struct Work {
    pub saver: Arc<BlobSaver>,
    pub progress: Progress,
    errors: Mutex<Vec<String>>,
}

impl Work {
    pub fn new(saver: Arc<BlobSaver>, progress: Progress) -> Work {
        Work {
            saver,
            progress,
            errors: Mutex::new(Vec::new()),
        }
    }

    /// An entry that is left out of the snapshot: shown now, counted in the summary.
    pub fn report(&self, line: String) {
        self.progress.warn(&format!("error: {line}"));
        self.errors.lock().expect("errors").push(line);
    }

    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut *self.errors.lock().expect("errors"))
    }
}

/// What a backup counts, whichever the source.
#[derive(Default)]
pub struct WalkStats {
    pub files: AtomicU64,
    pub dirs: AtomicU64,
    pub symlinks: AtomicU64,
    pub bytes: AtomicU64,
    pub files_read: AtomicU64,
}
