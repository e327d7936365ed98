//! Directory trees (or one file) as a backup source; which entries are covered is
//! `select`'s job. A file whose size, mtime, ctime and inode match the parent snapshot is not
//! read at all.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::meta::{node_of, with_xattrs};
use super::scan;
use super::select::{SelectOptions, Selection};
use crate::archive::buffers::BufferPool;
use crate::archive::saver::BlobSaver;
use crate::archive::{Entry, Source, Work};
use crate::progress::Progress;
use crate::repo::tree::{Node, NodeKind};

/// Files up to this size are read whole; larger ones are streamed through the chunker.
const READ_WHOLE_MAX: u64 = 16 * 1024 * 1024;
/// Files above this hold several MiB of buffers while read: one per core at a time.
const LARGE: u64 = 2 * 1024 * 1024;

pub struct FsSource {
    selection: Arc<Selection>,
    concurrency: usize,
    large_files: Arc<Semaphore>,
    buffers: Arc<BufferPool>,
}

impl FsSource {
    /// One path, or several (then the snapshot's tree starts at `/` and holds the way to each).
    pub fn new(paths: &[PathBuf], select: SelectOptions) -> Result<FsSource> {
        let paths = paths
            .iter()
            // Components drop a trailing `/`, which would otherwise change the source key.
            .map(|p| Ok(std::path::absolute(p)?.components().collect()))
            .collect::<Result<Vec<PathBuf>>>()?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(FsSource {
            selection: Arc::new(Selection::new(paths, select)?),
            // Small files cost a wait for the disk: twice as many reads as cores keep the CPU
            // busy while others wait (measured: a cold 1 GiB tree 20-25% faster than one per core).
            concurrency: 2 * cores,
            large_files: Arc::new(Semaphore::new(cores)),
            buffers: Arc::new(BufferPool::new(2 * cores)),
        })
    }
}

#[async_trait]
impl Source for FsSource {
    type Handle = PathBuf;

    fn paths(&self) -> Vec<String> {
        self.selection
            .roots()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    fn source_key(&self, host: &str) -> String {
        format!("fs:{host}:{}", self.paths().join(" "))
    }

    /// A registered source keeps its name (`@data`): a name is as stable as a path.
    fn recorded(&self, given: &str) -> String {
        match given.starts_with('@') {
            true => given.to_string(),
            false => self.paths().join(" "),
        }
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn estimate(&self, progress: &Progress) {
        scan::start(self.selection.clone(), progress.clone());
    }

    async fn root(&self) -> Result<Entry<PathBuf>> {
        let root = self.selection.base().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let meta = fs::symlink_metadata(&root)
                .map_err(|e| anyhow!("cannot read source {}: {e}", root.display()))?;
            let name = root.file_name().map(OsString::from).unwrap_or_default();
            let node = node_of(&root, name, &meta)?.ok_or_else(|| {
                anyhow!(
                    "source {} is not a file, directory or symlink",
                    root.display()
                )
            })?;
            Ok(Entry { node, handle: root })
        })
        .await?
    }

    async fn children(&self, dir: &Entry<PathBuf>, work: &Work) -> Result<Vec<Entry<PathBuf>>> {
        let path = dir.handle.clone();
        let selection = self.selection.clone();
        let (entries, problems) = tokio::task::spawn_blocking(move || {
            if selection.is_spine(&path) {
                let (mut entries, problems) = list(&path);
                entries.retain(|e| selection.on_the_way(&e.handle));
                return (entries, problems);
            }
            if selection.skip_contents(&path) {
                return (Vec::new(), Vec::new());
            }
            let (mut entries, problems) = list(&path);
            if selection.has_patterns() {
                entries.retain(|e| !selection.excluded(&e.handle, e.node.kind == NodeKind::Dir));
            }
            (entries, problems)
        })
        .await?;
        for p in problems {
            match p {
                Problem::Unreadable(line) => work.report(line),
                Problem::Skipped(line) => work.progress.warn(&line),
            }
        }
        Ok(entries)
    }

    fn unchanged(&self, node: &Node, prev: &Node) -> bool {
        prev.size == node.size
            && prev.mtime == node.mtime
            && prev.ctime == node.ctime
            && prev.inode == node.inode
    }

    fn reuse(&self, mut node: Node, prev: &Node) -> Node {
        node.content = prev.content.clone();
        node.xattrs = prev.xattrs.clone();
        node
    }

    async fn read(&self, entry: Entry<PathBuf>, work: &Work) -> Result<Option<Node>> {
        let _large = match entry.node.size > LARGE {
            true => Some(self.large_files.clone().acquire_owned().await?),
            false => None,
        };
        Ok(self.read_many(vec![entry], work).await?.pop().flatten())
    }

    async fn read_many(
        &self,
        entries: Vec<Entry<PathBuf>>,
        work: &Work,
    ) -> Result<Vec<Option<Node>>> {
        let saver = work.saver.clone();
        let progress = work.progress.clone();
        let buffers = self.buffers.clone();
        // One blocking task for the whole batch: the hand-over to a blocking thread costs
        // more than reading a small file.
        let read = tokio::task::spawn_blocking(move || {
            entries
                .into_iter()
                .map(|Entry { mut node, handle }| {
                    let read = read_file(&handle, node.size, &saver, &buffers, &|n| {
                        progress.add_bytes(n)
                    });
                    match read.and_then(|(content, size)| {
                        node.content = content;
                        node.size = size;
                        with_xattrs(node, &handle)
                    }) {
                        Ok(node) => Ok(node),
                        Err(e) => Err(format!("{}: {e}", handle.display())),
                    }
                })
                .collect::<Vec<_>>()
        })
        .await?;
        Ok(read
            .into_iter()
            .map(|r| r.map_err(|line| work.report(line)).ok())
            .collect())
    }
}

/// Chunks and saves one file: small ones read whole into a pooled buffer, large ones streamed.
/// `listed` is the size the listing saw: no second stat, and the buffer is sized by it (a file
/// that grew since is still read to its end). Open, read, read (the end), close: a million
/// small files spent a third of their system calls on the stat and seek `read_to_end` adds.
fn read_file(
    path: &Path,
    listed: u64,
    saver: &BlobSaver,
    buffers: &BufferPool,
    on_chunk: &dyn Fn(u64),
) -> Result<(Vec<crate::repo::id::Id>, u64)> {
    let mut file = File::open(path)?;
    if listed > READ_WHOLE_MAX {
        return saver.save_chunked_reader(file, on_chunk);
    }
    let mut buf = buffers.take();
    match read_whole(
        &mut file,
        listed as usize,
        READ_WHOLE_MAX as usize,
        &mut buf,
    ) {
        Ok(true) => {
            let saved = saver
                .save_chunked(&buf, on_chunk)
                .map(|ids| (ids, buf.len() as u64));
            buffers.give(buf);
            saved
        }
        // Grown past the whole-read size since it was listed: the rest is streamed.
        Ok(false) => saver.save_chunked_reader(std::io::Cursor::new(buf).chain(file), on_chunk),
        Err(e) => {
            buffers.give(buf);
            Err(e.into())
        }
    }
}

/// Reads to the end into `buf`, expecting about `expected` bytes: true when the file ended,
/// false when it holds more than `cap` (then `buf` has its first `cap` bytes and the file is
/// positioned after them).
fn read_whole(
    file: &mut File,
    expected: usize,
    cap: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    // One byte more than expected, so the usual file ends within the first read.
    buf.resize(expected.min(cap) + 1, 0);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled > cap {
                // One byte past the cap was read: keep it for the stream.
                buf.truncate(filled);
                return Ok(false);
            }
            buf.resize((buf.len() * 2).min(cap + 1), 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.clear();
                return Err(e);
            }
        }
    }
    buf.truncate(filled);
    Ok(true)
}

enum Problem {
    /// Left out of the snapshot and counted.
    Unreadable(String),
    /// A kind kloset does not back up: said, not counted.
    Skipped(String),
}

/// A directory's entries sorted by their raw names, each with its metadata.
fn list(dir: &Path) -> (Vec<Entry<PathBuf>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut names: Vec<OsString> = Vec::new();
    match fs::read_dir(dir) {
        Ok(rd) => {
            for entry in rd {
                match entry {
                    Ok(e) => names.push(e.file_name()),
                    Err(e) => problems.push(Problem::Unreadable(format!("{}: {e}", dir.display()))),
                }
            }
        }
        Err(e) => problems.push(Problem::Unreadable(format!("{}: {e}", dir.display()))),
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                problems.push(Problem::Unreadable(format!("{}: {e}", path.display())));
                continue;
            }
        };
        match node_of(&path, name, &meta) {
            Ok(Some(node)) => entries.push(Entry { node, handle: path }),
            Ok(None) => problems.push(Problem::Skipped(format!(
                "skipped {}: sockets are not backed up",
                path.display()
            ))),
            Err(e) => problems.push(Problem::Unreadable(format!("{}: {e}", path.display()))),
        }
    }
    (entries, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_whole_whatever_size_the_listing_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for (len, listed) in [(0, 0), (10, 10), (10, 3), (10, 0), (5000, 10), (3, 100)] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            fs::write(&path, &data).unwrap();
            let mut buf = vec![7u8; 4];
            let whole = read_whole(&mut File::open(&path).unwrap(), listed, 1 << 20, &mut buf);
            assert!(whole.unwrap(), "{len} listed as {listed}");
            assert_eq!(buf, data, "{len} listed as {listed}");
        }
    }

    #[test]
    fn a_file_grown_past_the_cap_since_its_listing_is_left_for_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        fs::write(&path, &data).unwrap();
        for listed in [0, 10, 999, 1000, 4999] {
            let mut file = File::open(&path).unwrap();
            let mut buf = Vec::new();
            assert!(!read_whole(&mut file, listed, 1000, &mut buf).unwrap());
            assert!(buf.len() > 1000 && buf.len() <= 1001, "{}", buf.len());
            let mut all = buf.clone();
            file.read_to_end(&mut all).unwrap();
            assert_eq!(all, data, "listed as {listed}");
        }
    }
}
