//! The restore target as open directories. The target root is opened once; every other
//! directory is reached from it one name at a time with `openat(O_NOFOLLOW|O_DIRECTORY)`,
//! never by resolving a path string again, so a directory that another user swaps for a
//! symlink (or a file) while the restore runs is refused instead of followed. Names come from
//! the snapshot, which is hostile input: `.`, `..`, empty names and NUL are refused too, so a
//! lookup can only go down.
//!
//! Directories being filled are kept open in a small cache (a restore writes many files per
//! directory): a directory that was looked up once keeps meaning the directory that was found
//! then, wherever it is moved to.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::{openat, Mode, OFlags, CWD};

/// Directories kept open: well under the usual limit of 1024 descriptors, with room for the
/// files being written.
const CACHED_DIRS: usize = 64;

/// Flags of every directory descriptor: readable (fchmod, fchown, fsetxattr and futimens
/// work on it, unlike an O_PATH one), never through a symlink.
fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

pub struct TargetDirs {
    path: PathBuf,
    root: Arc<OwnedFd>,
    cache: Mutex<Lru>,
}

impl TargetDirs {
    /// Opens the target root. Its own path is the user's to choose, so links on the way to it
    /// are followed, but not a link in its place.
    pub fn open(path: &Path) -> io::Result<TargetDirs> {
        let root = openat(CWD, path, dir_flags(), Mode::empty())?;
        Ok(TargetDirs {
            path: path.to_path_buf(),
            root: Arc::new(root),
            cache: Mutex::new(Lru::new(CACHED_DIRS)),
        })
    }

    pub fn root(&self) -> &Arc<OwnedFd> {
        &self.root
    }

    /// How to show `rel` (a `/`-separated path below the target) in a message.
    pub fn shown(&self, rel: &[u8]) -> PathBuf {
        let rel = rel.strip_prefix(b"/").unwrap_or(rel);
        if rel.is_empty() {
            self.path.clone()
        } else {
            self.path.join(OsStr::from_bytes(rel))
        }
    }

    /// The directory at `rel`, reached from the root (or the deepest directory on the way
    /// that is open already) one name at a time, following no link.
    pub fn dir(&self, rel: &[u8]) -> io::Result<Arc<OwnedFd>> {
        let rel = rel.strip_prefix(b"/").unwrap_or(rel);
        let ends = component_ends(rel).map_err(|why| self.refused(rel, why))?;
        let (mut fd, mut done) = (self.root.clone(), 0);
        {
            let mut cache = self.cache.lock().expect("dir cache");
            for (i, &end) in ends.iter().enumerate().rev() {
                if let Some(open) = cache.get(&rel[..end]) {
                    (fd, done) = (open, i + 1);
                    break;
                }
            }
        }
        for i in done..ends.len() {
            let start = if i == 0 { 0 } else { ends[i - 1] + 1 };
            let name = &rel[start..ends[i]];
            let next = match openat(&*fd, name, dir_flags(), Mode::empty()) {
                Ok(next) => Arc::new(next),
                Err(e) if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR => {
                    return Err(self.refused(
                        &rel[..ends[i]],
                        "a symlink or file is where the snapshot has a directory: not followed",
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            self.cache
                .lock()
                .expect("dir cache")
                .insert(rel[..ends[i]].to_vec(), next.clone());
            fd = next;
        }
        Ok(fd)
    }

    fn refused(&self, rel: &[u8], why: &str) -> io::Error {
        io::Error::other(format!("{}: {why}", self.shown(rel).display()))
    }
}

/// `rel` split in place: where each of its names ends. Refuses what could climb out of the
/// target or name nothing.
pub fn component_ends(rel: &[u8]) -> Result<Vec<usize>, &'static str> {
    if rel.is_empty() {
        return Ok(Vec::new());
    }
    let mut ends = Vec::new();
    let mut start = 0;
    for part in rel.split(|c| *c == b'/') {
        if part.is_empty() || part == b"." || part == b".." || part.contains(&0) {
            return Err("a name in this path cannot be restored safely (empty, '.', '..' or NUL)");
        }
        start += part.len();
        ends.push(start);
        start += 1;
    }
    Ok(ends)
}

/// (parent, name) of a `/`-separated path below the target.
pub fn split_parent(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|c| *c == b'/') {
        Some(cut) => (&rel[..cut], &rel[cut + 1..]),
        None => (&[], rel),
    }
}

/// A bounded map of open directories; the least recently used one is closed first.
struct Lru {
    entries: HashMap<Vec<u8>, (Arc<OwnedFd>, u64)>,
    tick: u64,
    capacity: usize,
}

impl Lru {
    fn new(capacity: usize) -> Lru {
        Lru {
            entries: HashMap::new(),
            tick: 0,
            capacity: capacity.max(1),
        }
    }

    fn get(&mut self, key: &[u8]) -> Option<Arc<OwnedFd>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|(fd, used)| {
            *used = tick;
            fd.clone()
        })
    }

    fn insert(&mut self, key: Vec<u8>, fd: Arc<OwnedFd>) {
        self.tick += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            // Only on a miss, over a few dozen entries.
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (fd, self.tick));
    }
}

#[cfg(test)]
mod tests;
