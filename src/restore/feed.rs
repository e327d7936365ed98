//! Reading file content out of the store for a destination: every blob use is resolved once,
//! grouped by pack and read in coalesced ranged requests under a memory budget, decrypted and
//! verified on blocking threads, and handed to the sink in segments (a blob at its offset, or
//! a whole object or multipart part assembled from consecutive blobs). Store requests scale
//! with the packs touched, not the blobs.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use futures::{stream, StreamExt};
use tokio::sync::Semaphore;

use super::units::{read_units, segment_size, windows, Segment, Use};
use super::{ContentSink, PlannedFile, SegmentWrite};
use crate::error::KlosetError;
use crate::progress::Progress;
use crate::remote;
use crate::repo::id::Id;
use crate::repo::{open_blob, IndexedRepo};

pub use super::in_order::InOrder;

/// Bytes of pack data (sealed, then opened) in flight across all reads; each read is this
/// divided by the concurrency, between 2 and 8 MiB. A local disk keeps up with 4 MiB reads
/// (64 MiB locally cost 37 MiB of peak RSS in a restore of Linux's sources, and no time).
const READ_BUDGET: u64 = 64 * 1024 * 1024;
const LOCAL_READ_BUDGET: u64 = 16 * 1024 * 1024;

pub struct Reader {
    repo: Arc<IndexedRepo>,
    concurrency: usize,
    /// Asked to stop: no new window is started, and files begun are abandoned (a sink's
    /// uploads aborted).
    cancel: crate::cancel::Cancel,
}

#[derive(Default, Debug)]
pub struct FeedReport {
    /// Files whose content was written completely.
    pub written: Vec<usize>,
    /// Files that failed, with why.
    pub failed: Vec<(usize, String)>,
    /// Of those, the files whose data in the store is missing or damaged.
    pub damaged: Vec<usize>,
    /// Files not started after a remote failure stopped the feed.
    pub not_attempted: usize,
}

/// Per file: segments left to write, and whether it failed.
struct FileState {
    segments: usize,
    left: AtomicUsize,
    failed: AtomicBool,
}

/// Segments being assembled from several blobs.
struct Assembly {
    buffers: Mutex<HashMap<usize, Vec<u8>>>,
    left: HashMap<usize, AtomicUsize>,
}

impl Reader {
    pub fn new(repo: Arc<IndexedRepo>, concurrency: usize) -> Reader {
        Reader {
            repo,
            concurrency: concurrency.max(1),
            cancel: crate::cancel::Cancel::default(),
        }
    }

    pub fn stopped_by(self, cancel: crate::cancel::Cancel) -> Reader {
        Reader { cancel, ..self }
    }

    pub fn repo(&self) -> &Arc<IndexedRepo> {
        &self.repo
    }

    /// Reads the content of `files` (each its blob ids) for a writer that needs it in order,
    /// file after file (`cat`, `dump`): runs of consecutive blobs are read together, grouped by
    /// pack in coalesced ranged reads, each blob verified.
    pub fn in_order(&self, files: Vec<Vec<Id>>) -> InOrder {
        InOrder {
            repo: self.repo.clone(),
            concurrency: self.concurrency,
            blobs: files
                .into_iter()
                .enumerate()
                .flat_map(|(f, ids)| ids.into_iter().map(move |id| (f, id)))
                .collect(),
            next: 0,
            ready: VecDeque::new(),
        }
    }

    /// Bytes per coalesced read: the budget shared by the reads in flight.
    pub(super) fn unit(&self) -> u64 {
        let budget = if self.repo.is_remote() {
            READ_BUDGET
        } else {
            LOCAL_READ_BUDGET
        };
        (budget / self.concurrency as u64).clamp(2 << 20, 8 << 20)
    }

    /// Feeds the content of `files` to `sink`, in segments of at least `segment` bytes (None:
    /// one segment per blob).
    pub async fn feed<S: ContentSink + ?Sized>(
        &self,
        files: &[PlannedFile],
        segment: Option<u64>,
        sink: &S,
        progress: &Progress,
    ) -> Result<FeedReport> {
        let (segments, states, unindexed) = self.layout(files, segment);
        let states = Arc::new(states);
        let report = Mutex::new(FeedReport {
            damaged: unindexed.iter().map(|(f, _)| *f).collect(),
            failed: unindexed,
            ..FeedReport::default()
        });
        let stop = AtomicBool::new(false);
        let writes = Semaphore::new(self.concurrency);
        let ctx = Ctx {
            files,
            sink,
            segments: &segments,
            states: &states,
            report: &report,
            stop: &stop,
            writes: &writes,
            progress,
        };
        // Files without content are whole as they are.
        let empty: Vec<(usize, Bytes)> = (0..segments.len())
            .filter(|&i| segments[i].blobs == 0)
            .map(|i| (i, Bytes::new()))
            .collect();
        for chunk in empty.chunks(1024) {
            ctx.deliver(chunk.to_vec()).await;
        }
        for window in windows(&segments, segment.is_some()) {
            if stop.load(Ordering::Relaxed) || self.cancel.is_requested() {
                break;
            }
            self.feed_window(&ctx, window).await?;
        }
        let mut report = report.into_inner().expect("report");
        for (i, st) in states.iter().enumerate() {
            let started = st.left.load(Ordering::Relaxed) < st.segments;
            if st.left.load(Ordering::Relaxed) > 0 && !st.failed.load(Ordering::Relaxed) {
                report.not_attempted += 1;
                if started {
                    sink.abandon(i, &files[i]).await;
                }
            }
        }
        Ok(report)
    }

    fn layout(
        &self,
        files: &[PlannedFile],
        segment: Option<u64>,
    ) -> (Vec<Segment>, Vec<FileState>, Vec<(usize, String)>) {
        let mut segments = Vec::new();
        let mut states = Vec::with_capacity(files.len());
        let mut unindexed = Vec::new();
        for (f, file) in files.iter().enumerate() {
            // A file with a blob no index names cannot be restored whole: it fails alone.
            if let Some(id) = file
                .node
                .content
                .iter()
                .find(|id| self.repo.blob(id).is_none())
            {
                unindexed.push((
                    f,
                    format!(
                        "blob {} is in no index file (run 'kloset repair index' if packs hold it)",
                        id.short()
                    ),
                ));
                states.push(FileState {
                    segments: 0,
                    left: AtomicUsize::new(0),
                    failed: AtomicBool::new(true),
                });
                continue;
            }
            let first = segments.len();
            let mut offset = 0u64;
            let segment = segment.map(|s| segment_size(s, file.node.size));
            for id in &file.node.content {
                let loc = self.repo.blob(id).expect("checked above");
                let start_new = match (segments.last(), segment) {
                    (Some(s), Some(size)) => {
                        let s: &Segment = s;
                        segments.len() == first || s.len >= size
                    }
                    _ => true,
                };
                if start_new {
                    segments.push(Segment {
                        file: f,
                        index: segments.len() - first,
                        offset,
                        len: 0,
                        blobs: 0,
                    });
                }
                let s = segments.last_mut().expect("a segment");
                s.len += loc.raw_length as u64;
                s.blobs += 1;
                offset += loc.raw_length as u64;
            }
            if segments.len() == first {
                segments.push(Segment {
                    file: f,
                    index: 0,
                    offset: 0,
                    len: 0,
                    blobs: 0,
                });
            }
            let n = segments.len() - first;
            states.push(FileState {
                segments: n,
                left: AtomicUsize::new(n),
                failed: AtomicBool::new(false),
            });
        }
        (segments, states, unindexed)
    }

    async fn feed_window<S: ContentSink + ?Sized>(
        &self,
        ctx: &Ctx<'_, S>,
        window: std::ops::Range<usize>,
    ) -> Result<()> {
        let mut by_pack: HashMap<u32, HashMap<Id, Use>> = HashMap::new();
        let mut assembly = Assembly {
            buffers: Mutex::new(HashMap::new()),
            left: HashMap::new(),
        };
        let mut seg_of_file: HashMap<usize, usize> = HashMap::new();
        for i in window.clone() {
            seg_of_file.entry(ctx.segments[i].file).or_insert(i);
        }
        // Walk each file's blobs once, keeping those of this window's segments.
        let mut done_files = std::collections::HashSet::new();
        for i in window.clone() {
            let file = ctx.segments[i].file;
            if !done_files.insert(file) {
                continue;
            }
            let first_of_file = i - ctx.segments[i].index;
            let (mut seg, mut pos) = (first_of_file, 0u64);
            for id in &ctx.files[file].node.content {
                let loc = self.repo.blob(id).expect("resolved in layout");
                if pos >= ctx.segments[seg].len {
                    seg += 1;
                    pos = 0;
                }
                if window.contains(&seg) {
                    by_pack
                        .entry(loc.pack)
                        .or_default()
                        .entry(*id)
                        .or_insert_with(|| Use {
                            id: *id,
                            loc,
                            targets: Vec::new(),
                        })
                        .targets
                        .push((seg, pos));
                }
                pos += loc.raw_length as u64;
            }
        }
        for i in window {
            if ctx.segments[i].blobs > 1 {
                assembly
                    .left
                    .insert(i, AtomicUsize::new(ctx.segments[i].blobs));
            }
        }
        let assembly = Arc::new(assembly);
        let unit = self.unit();
        let seg_meta: Arc<Vec<(u64, usize)>> =
            Arc::new(ctx.segments.iter().map(|s| (s.len, s.blobs)).collect());
        let results: Vec<Result<()>> = stream::iter(read_units(by_pack, unit))
            .map(|(pack, blobs)| {
                let assembly = assembly.clone();
                let seg_meta = seg_meta.clone();
                async move {
                    if ctx.stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    let ranges: Vec<_> = blobs.iter().map(|b| b.loc.range()).collect();
                    let data = match self.repo.read_pack_ranges(pack, &ranges).await {
                        Ok(d) => d,
                        Err(e) if is_damage(&e) => {
                            let why = format!("{e:#}");
                            for b in &blobs {
                                for &(seg, _) in &b.targets {
                                    ctx.fail(seg, anyhow::anyhow!("{why}"), true).await;
                                }
                            }
                            return Ok(());
                        }
                        Err(e) => return Err(e),
                    };
                    let keys = self.repo.keys().clone();
                    let (ready, bad) = tokio::task::spawn_blocking(move || {
                        open_and_place(&keys, blobs, data, &assembly, &seg_meta)
                    })
                    .await?;
                    for (seg, why) in bad {
                        ctx.fail(seg, anyhow::anyhow!("{why}"), true).await;
                    }
                    ctx.deliver(ready).await;
                    Ok(())
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

struct Ctx<'a, S: ContentSink + ?Sized> {
    files: &'a [PlannedFile],
    sink: &'a S,
    segments: &'a [Segment],
    states: &'a Arc<Vec<FileState>>,
    report: &'a Mutex<FeedReport>,
    stop: &'a AtomicBool,
    writes: &'a Semaphore,
    progress: &'a Progress,
}

impl<S: ContentSink + ?Sized> Ctx<'_, S> {
    /// Hands complete segments to the sink, and completes each file after its last one.
    async fn deliver(&self, ready: Vec<(usize, Bytes)>) {
        let ready: Vec<(usize, Bytes)> = ready
            .into_iter()
            .filter(|(seg, _)| {
                !self.states[self.segments[*seg].file]
                    .failed
                    .load(Ordering::Relaxed)
            })
            .collect();
        if ready.is_empty() {
            return;
        }
        let _permit = self.writes.acquire().await.expect("semaphore open");
        let batch: Vec<SegmentWrite<'_>> = ready
            .iter()
            .map(|(seg, data)| {
                let s = &self.segments[*seg];
                SegmentWrite {
                    file: s.file,
                    planned: &self.files[s.file],
                    segment: s.index,
                    offset: s.offset,
                    data: data.clone(),
                    whole: self.states[s.file].segments == 1,
                }
            })
            .collect();
        let outcomes = self.sink.write_batch(batch).await;
        for ((seg, data), outcome) in ready.iter().zip(outcomes) {
            self.account(*seg, data.len() as u64, outcome).await;
        }
    }

    async fn account(&self, seg: usize, len: u64, mut outcome: Result<()>) {
        let s = &self.segments[seg];
        let st = &self.states[s.file];
        let planned = &self.files[s.file];
        let whole = st.segments == 1;
        if outcome.is_ok() {
            self.progress.add_bytes(len);
            let last = st.left.fetch_sub(1, Ordering::AcqRel) == 1;
            if last && !whole {
                outcome = self.sink.complete(s.file, planned, st.segments).await;
            }
            if last && outcome.is_ok() {
                self.report.lock().expect("report").written.push(s.file);
            }
        }
        if let Err(e) = outcome {
            if remote::kind_of(&e).is_some() {
                // The server is failing: start nothing new. What was written stays, and running
                // the restore again finishes the rest.
                self.stop.store(true, Ordering::Relaxed);
            }
            self.fail(seg, e, false).await;
        }
    }

    /// The file of `seg` will not be restored: what was started for it is removed.
    async fn fail(&self, seg: usize, e: anyhow::Error, damaged: bool) {
        let file = self.segments[seg].file;
        if self.states[file].failed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.sink.abandon(file, &self.files[file]).await;
        let mut report = self.report.lock().expect("report");
        report.failed.push((file, format!("{e:#}")));
        if damaged {
            report.damaged.push(file);
        }
    }
}

/// A segment that cannot be completed, and why.
type SegmentFailure = (usize, String);

/// Decrypts and verifies a unit's blobs and places them: single-blob segments are ready at
/// once, others when their last blob arrives.
fn open_and_place(
    keys: &crate::repo::crypto::Keys,
    blobs: Vec<Use>,
    data: Vec<Bytes>,
    assembly: &Assembly,
    seg_meta: &[(u64, usize)],
) -> (Vec<(usize, Bytes)>, Vec<SegmentFailure>) {
    let mut ready = Vec::new();
    let mut bad = Vec::new();
    for (blob, sealed) in blobs.iter().zip(data) {
        // Opened to exactly `raw_length` bytes, which is what placed the blob's targets.
        let plain = match open_blob(keys, &blob.id, &sealed, blob.loc.raw_length) {
            Ok(p) => Bytes::from(p),
            Err(e) => {
                bad.extend(blob.targets.iter().map(|&(seg, _)| (seg, format!("{e:#}"))));
                continue;
            }
        };
        for &(seg, pos) in &blob.targets {
            let (len, count) = seg_meta[seg];
            if count == 1 {
                ready.push((seg, plain.clone()));
                continue;
            }
            let complete = {
                let mut buffers = assembly.buffers.lock().expect("buffers");
                let buf = buffers
                    .entry(seg)
                    .or_insert_with(|| vec![0u8; len as usize]);
                let place = usize::try_from(pos)
                    .ok()
                    .and_then(|p| Some(p..p.checked_add(plain.len())?))
                    .and_then(|r| buf.get_mut(r));
                let Some(place) = place else {
                    let why = format!(
                        "blob {} does not fit where its file needs it",
                        blob.id.short()
                    );
                    bad.push((seg, why));
                    continue;
                };
                place.copy_from_slice(&plain);
                assembly.left[&seg].fetch_sub(1, Ordering::AcqRel) == 1
            };
            if complete {
                let buf = assembly
                    .buffers
                    .lock()
                    .expect("buffers")
                    .remove(&seg)
                    .expect("assembled segment");
                ready.push((seg, Bytes::from(buf)));
            }
        }
    }
    (ready, bad)
}

/// The store answered, and the data is not there as the index says: the files that need it
/// fail, the restore goes on. Anything else (the store cannot be reached) stops it.
pub(super) fn is_damage(e: &anyhow::Error) -> bool {
    matches!(
        remote::kind_of(e),
        Some(remote::RemoteKind::NotFound | remote::RemoteKind::BadRange)
    ) || e.chain().any(|c| {
        matches!(
            c.downcast_ref::<KlosetError>(),
            Some(KlosetError::Integrity(_))
        )
    })
}
