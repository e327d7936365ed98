//! A local cache of a remote store's immutable, content-addressed objects (index files and
//! snapshots), so a second command does not download them again. Every entry is re-hashed on
//! read: a stale, corrupt or deleted cache costs a download, never a wrong answer.

use std::path::PathBuf;

use super::id::Id;

pub struct Cache {
    dir: Option<PathBuf>,
}

/// `$KLOSET_CACHE_DIR`, else `$XDG_CACHE_HOME/kloset`, else `~/.cache/kloset`; per store id.
pub fn store_dir(store: &Id) -> Option<PathBuf> {
    let base = std::env::var_os("KLOSET_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|d| !d.is_empty())
                .map(|d| PathBuf::from(d).join("kloset"))
        })
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache").join("kloset")));
    base.map(|b| b.join(store.hex()))
}

impl Cache {
    pub fn disabled() -> Cache {
        Cache { dir: None }
    }

    pub fn for_store(store: &Id) -> Cache {
        Cache {
            dir: store_dir(store),
        }
    }

    /// A cached object of at most `max` bytes (by the file's metadata, before it is read): a
    /// larger file is not what kloset cached, and is removed unread.
    pub fn get(&self, kind: &str, id: &Id, max: u64) -> Option<Vec<u8>> {
        let path = self.dir.as_ref()?.join(kind).join(id.hex());
        let data = read_at_most(&path, max)?;
        if Id::of_bytes(&data) == *id {
            Some(data)
        } else {
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    /// Best effort: a cache that cannot be written only costs downloads.
    pub fn put(&self, kind: &str, id: &Id, data: &[u8]) {
        let Some(dir) = &self.dir else { return };
        let dir = dir.join(kind);
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&dir) {
            use std::io::Write;
            if tmp.write_all(data).is_ok() {
                let _ = tmp.persist(dir.join(id.hex()));
            }
        }
    }
}

/// The file's bytes, unless it is longer than `max` (then it is removed unread).
fn read_at_most(path: &std::path::Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() > max {
        let _ = std::fs::remove_file(path);
        return None;
    }
    let mut data = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut data)
        .ok()?;
    (data.len() as u64 <= max).then_some(data)
}
