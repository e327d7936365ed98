//! Reused scratch buffers. Fresh buffers cost a page fault per 4 KiB; thread-local ones would be
//! kept by every thread of tokio's blocking pool, which grows with the work, so a few shared
//! buffers serve instead.

use std::sync::Mutex;

/// Buffers above this are given back to the allocator rather than kept: with workers blocked
/// on a slow store, idle multi-MiB buffers would otherwise dominate memory.
const KEEP_BUFFER: usize = 2 * 1024 * 1024;

pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl BufferPool {
    /// Keeps at most `keep` idle buffers.
    pub fn new(keep: usize) -> BufferPool {
        BufferPool {
            free: Mutex::new(Vec::new()),
            keep,
        }
    }

    pub fn take(&self) -> Vec<u8> {
        self.free.lock().expect("buffers").pop().unwrap_or_default()
    }

    pub fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() > KEEP_BUFFER {
            return;
        }
        buf.clear();
        let mut free = self.free.lock().expect("buffers");
        if free.len() < self.keep {
            free.push(buf);
        }
    }
}
