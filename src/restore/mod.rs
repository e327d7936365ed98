//! Restoring: one planner over any `Destination`. The planner walks the snapshot once, asks the
//! destination which entries it can hold, lets it prepare (directories, conflicts, identical
//! objects to skip), then reads content grouped by pack and hands it over in segments.
//! Filesystem and S3 destinations live in `connectors`.

pub mod feed;
mod in_order;
pub mod names;
pub mod planner;
pub mod privilege;
mod units;

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;

use crate::repo::tree::Node;
pub use feed::Reader;

/// A file to restore: its path below the restored root (`/`-separated raw names, starting
/// with `/`; see `repo::walk::child_path`) and its node.
#[derive(Clone)]
pub struct PlannedFile {
    pub path: Vec<u8>,
    pub node: Node,
}

impl PlannedFile {
    /// The path without its leading `/`: for S3, the key below the destination prefix.
    pub fn relative(&self) -> &[u8] {
        self.path.strip_prefix(b"/").unwrap_or(&self.path)
    }
}

#[derive(Default)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    pub dirs: Vec<(Vec<u8>, Node)>,
    pub links: Vec<(Vec<u8>, Node)>,
    /// FIFOs and device nodes.
    pub specials: Vec<(Vec<u8>, Node)>,
    /// Said to the user, not failures.
    pub notes: Vec<String>,
    /// Entries that will not be restored.
    pub errors: Vec<String>,
    /// Replaying keys' histories: `files` holds each key's oldest entry (the destination must
    /// not skip or merge them), `history[i]` each key's entry i + 1, written after all of
    /// `history[i - 1]`, so that every key's versions arrive oldest first.
    pub replay: bool,
    pub history: Vec<Vec<PlannedFile>>,
    /// Which step of a replay `files` is: 0, then 1 for `history[0]`, and so on.
    pub step: usize,
}

/// One segment of a file's content, as handed to a sink.
pub struct SegmentWrite<'a> {
    /// Index into the slice of files being fed.
    pub file: usize,
    pub planned: &'a PlannedFile,
    pub segment: usize,
    pub offset: u64,
    pub data: Bytes,
    /// This is the entire file: no `complete` follows.
    pub whole: bool,
}

/// Writes of one batch in flight at once, by default.
const BATCH_CONCURRENCY: usize = 16;

/// Receives file content. `file` indexes the slice of files being fed.
#[async_trait]
pub trait ContentSink: Send + Sync {
    /// The segments one pack read completed, each with its outcome. By default each goes to
    /// `write`, several at once; a sink with cheaper ways to write many (one blocking task for
    /// many small files) overrides it.
    async fn write_batch(&self, batch: Vec<SegmentWrite<'_>>) -> Vec<Result<()>> {
        use futures::StreamExt;
        let mut out = Vec::with_capacity(batch.len());
        let mut pending = futures::stream::FuturesOrdered::new();
        for w in batch {
            pending.push_back(self.write(w.file, w.planned, w.segment, w.offset, w.data, w.whole));
            if pending.len() >= BATCH_CONCURRENCY {
                out.extend(pending.next().await);
            }
        }
        while let Some(r) = pending.next().await {
            out.push(r);
        }
        out
    }

    /// One segment of a file's content, at `offset`. `whole`: this is the entire file (no
    /// `complete` follows).
    async fn write(
        &self,
        file: usize,
        planned: &PlannedFile,
        segment: usize,
        offset: u64,
        data: Bytes,
        whole: bool,
    ) -> Result<()>;

    /// Every segment of a file of `segments` segments was written.
    async fn complete(&self, file: usize, planned: &PlannedFile, segments: usize) -> Result<()>;

    /// A file that will not be completed: release what was started for it.
    async fn abandon(&self, _file: usize, _planned: &PlannedFile) {}
}

#[async_trait]
pub trait Destination: ContentSink {
    /// How to name it in messages and summaries.
    fn display(&self) -> String;

    /// Content is handed over in segments of at least this many bytes (whole objects or
    /// multipart parts); None: each blob as it arrives, at its offset.
    fn segment_size(&self) -> Option<u64>;

    /// Whether a node below `parent` can be restored here; refusals go to `plan`.
    fn accept(&self, parent: &[u8], node: &Node, plan: &mut Plan) -> bool;

    /// Before any content is written: create directories, refuse conflicts, drop files that
    /// are already there. May read content through `reader`.
    async fn prepare(&self, plan: &mut Plan, reader: &Reader) -> Result<()>;

    /// Whether the destination keeps versions (a bucket with versioning enabled), so that a
    /// key's history can be replayed into it.
    async fn keeps_versions(&self) -> Result<bool> {
        Ok(false)
    }

    /// After all content: links and directory metadata. Problems go to `errors`.
    async fn finish(&self, plan: &mut Plan, errors: &mut Vec<String>) -> Result<()>;

    /// Entries skipped because the destination already held them.
    fn skipped(&self) -> u64 {
        0
    }
}
