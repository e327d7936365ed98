//! Reading any range of a stored file, as a mounted file is read: the blobs that cover the
//! range are taken from a bounded cache, and those missing are read together with the blobs
//! that follow them, up to a window, through the one reader (coalesced ranged reads per
//! pack, each blob verified). A reader going through a file in order thus costs one read
//! per window, not one per blob; the window grows while the reads follow each other, so a
//! few bytes read here and there do not each fetch the largest window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use lru::LruCache;

use crate::error::KlosetError;
use crate::repo::id::Id;
use crate::repo::tree::Node;
use crate::repo::IndexedRepo;
use crate::restore::Reader;

/// Bytes read ahead of a reader, at most.
const WINDOW: u64 = 16 * 1024 * 1024;

/// Bytes read ahead of a read that does not follow the one before.
const FIRST_WINDOW: u64 = 1024 * 1024;

/// Where each blob of a file's content starts, and how this open file is being read.
pub struct Layout {
    pub blobs: Vec<Id>,
    /// `starts[i]`: offset of blob i; one more entry, the file's size.
    starts: Vec<u64>,
    /// Where the last read ended, and the window it was given.
    next: AtomicU64,
    window: AtomicU64,
    /// One fetch at a time per open file: the kernel's parallel read-ahead asks for
    /// neighbouring ranges at once, which one fetch covers.
    fetching: tokio::sync::Mutex<()>,
}

impl Layout {
    /// From the index's plaintext lengths. Fails when a blob is not indexed, or when the blobs
    /// do not add up to the file's size: the file cannot be read as stored, and saying so at
    /// open beats a short read.
    pub fn of(repo: &IndexedRepo, node: &Node) -> Result<Layout> {
        let mut starts = Vec::with_capacity(node.content.len() + 1);
        let mut at = 0u64;
        for id in &node.content {
            starts.push(at);
            let loc = repo.blob(id).ok_or_else(|| {
                KlosetError::Integrity(format!(
                    "'{}': blob {} is in no index file: run 'kloset check'",
                    node.name,
                    id.short()
                ))
            })?;
            at += u64::from(loc.raw_length);
        }
        starts.push(at);
        if at != node.size {
            return Err(KlosetError::Integrity(format!(
                "'{}': its size says {} bytes but its content holds {at}: run 'kloset check'",
                node.name, node.size
            ))
            .into());
        }
        Ok(Layout::new(node.content.clone(), starts))
    }

    fn new(blobs: Vec<Id>, starts: Vec<u64>) -> Layout {
        Layout {
            blobs,
            starts,
            next: AtomicU64::new(0),
            window: AtomicU64::new(FIRST_WINDOW / 2),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The window for a read at `offset..offset + len`: twice the last one when it follows
    /// the last read (within a window of where it ended: the kernel's parallel read-ahead
    /// arrives out of order), the first one's size when it does not.
    fn window_for(&self, offset: u64, len: u64) -> u64 {
        let last = self
            .next
            .swap(offset.saturating_add(len), Ordering::Relaxed);
        let follows = offset.abs_diff(last) <= self.window.load(Ordering::Relaxed);
        let window = match follows {
            true => (self.window.load(Ordering::Relaxed) * 2).clamp(FIRST_WINDOW, WINDOW),
            false => FIRST_WINDOW,
        };
        self.window.store(window, Ordering::Relaxed);
        window
    }

    pub fn size(&self) -> u64 {
        *self.starts.last().unwrap_or(&0)
    }

    /// The blobs overlapping `offset..offset + len`, by index.
    fn covering(&self, offset: u64, len: u64) -> std::ops::Range<usize> {
        let end = offset.saturating_add(len).min(self.size());
        if offset >= end {
            return 0..0;
        }
        let first = self.starts.partition_point(|&s| s <= offset) - 1;
        let last = self.starts.partition_point(|&s| s < end) - 1;
        first..last + 1
    }
}

pub struct Contents {
    cache: Mutex<Cache>,
    concurrency: usize,
}

struct Cache {
    blobs: LruCache<Id, Bytes>,
    bytes: u64,
    budget: u64,
}

impl Cache {
    fn put(&mut self, id: Id, data: Bytes) {
        self.bytes += data.len() as u64;
        if let Some(old) = self.blobs.put(id, data) {
            self.bytes -= old.len() as u64;
        }
        while self.bytes > self.budget {
            match self.blobs.pop_lru() {
                Some((_, old)) => self.bytes -= old.len() as u64,
                None => break,
            }
        }
    }
}

impl Contents {
    /// `budget`: bytes of blobs kept, at least one window's worth.
    pub fn new(budget: u64, concurrency: usize) -> Contents {
        Contents {
            cache: Mutex::new(Cache {
                blobs: LruCache::unbounded(),
                bytes: 0,
                budget: budget.max(WINDOW),
            }),
            concurrency: concurrency.max(1),
        }
    }

    /// `len` bytes at `offset` (fewer at the end of the file).
    pub async fn read(
        &self,
        repo: &Arc<IndexedRepo>,
        layout: &Layout,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        let range = layout.covering(offset, len);
        let window = layout.window_for(offset, len);
        let mut out = Vec::with_capacity(len.min(layout.size()) as usize);
        for i in range {
            let data = match self.cached(&layout.blobs[i]) {
                Some(d) => d,
                // Used as read: other readers may have pushed it out of the cache already.
                None => self.fetch(repo, layout, i, window).await?,
            };
            let start = layout.starts[i];
            let from = offset.saturating_sub(start) as usize;
            let to = ((offset + len).min(start + data.len() as u64) - start) as usize;
            if from < to {
                out.extend_from_slice(&data[from..to]);
            }
        }
        Ok(out)
    }

    fn cached(&self, id: &Id) -> Option<Bytes> {
        self.cache.lock().ok()?.blobs.get(id).cloned()
    }

    /// Blob `first` and those after it not cached, up to `window` bytes, in one in-order
    /// read. Returns blob `first`.
    async fn fetch(
        &self,
        repo: &Arc<IndexedRepo>,
        layout: &Layout,
        first: usize,
        window: u64,
    ) -> Result<Bytes> {
        let _one_at_a_time = layout.fetching.lock().await;
        // Fetched meanwhile by the read this one waited for.
        if let Some(d) = self.cached(&layout.blobs[first]) {
            return Ok(d);
        }
        let mut ids = Vec::new();
        let mut bytes = 0u64;
        for i in first..layout.blobs.len() {
            let size = layout.starts[i + 1] - layout.starts[i];
            if i > first && (bytes + size > window || self.cached(&layout.blobs[i]).is_some()) {
                break;
            }
            ids.push(layout.blobs[i]);
            bytes += size;
        }
        let reader = Reader::new(repo.clone(), self.concurrency);
        let mut blobs = reader.in_order(vec![ids.clone()]);
        let mut wanted = None;
        for id in ids {
            let data = match blobs.next_of(0).await {
                Some(r) => r?,
                None => anyhow::bail!("blob {} was not read", id.short()),
            };
            wanted.get_or_insert_with(|| data.clone());
            if let Ok(mut cache) = self.cache.lock() {
                cache.put(id, data);
            }
        }
        wanted.ok_or_else(|| anyhow::anyhow!("no blob to read"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(sizes: &[u64]) -> Layout {
        let mut starts = vec![0];
        for s in sizes {
            starts.push(starts.last().unwrap() + s);
        }
        Layout::new(sizes.iter().map(|_| Id([0; 32])).collect(), starts)
    }

    #[test]
    fn the_window_grows_while_reads_follow_each_other() {
        let l = layout(&[10]);
        assert_eq!(l.window_for(500, 100), FIRST_WINDOW);
        assert_eq!(l.window_for(600, 100), 2 * FIRST_WINDOW);
        assert_eq!(l.window_for(700, 100), 4 * FIRST_WINDOW);
        for n in 0..10 {
            l.window_for(800 + n * 100, 100);
        }
        assert_eq!(l.window_for(1800, 100), WINDOW);
        assert_eq!(
            l.window_for(1700, 100),
            WINDOW,
            "a little behind still follows"
        );
        assert_eq!(
            l.window_for(100 << 20, 100),
            FIRST_WINDOW,
            "a jump starts again"
        );
    }

    #[test]
    fn the_blobs_covering_a_range() {
        let l = layout(&[10, 10, 10]);
        assert_eq!(l.covering(0, 10), 0..1);
        assert_eq!(l.covering(5, 10), 0..2);
        assert_eq!(l.covering(10, 1), 1..2);
        assert_eq!(l.covering(25, 100), 2..3);
        assert_eq!(l.covering(30, 5), 0..0);
        assert_eq!(l.covering(0, 0), 0..0);
        assert_eq!(layout(&[]).covering(0, 4096), 0..0);
    }

    #[test]
    fn the_cache_keeps_to_its_budget() {
        let mut c = Cache {
            blobs: LruCache::unbounded(),
            bytes: 0,
            budget: 25,
        };
        for n in 0..4u8 {
            c.put(Id([n; 32]), Bytes::from(vec![0u8; 10]));
        }
        assert_eq!(c.bytes, 20);
        assert!(c.blobs.get(&Id([0; 32])).is_none());
        assert!(c.blobs.get(&Id([3; 32])).is_some());
    }
}
