//! What this host remembers of a store between runs, in the store's cache folder (local stores
//! too): that it once opened with an authenticated config, so a config without a MAC is then
//! refused, and which key opened it, tried first next time so planted key objects cost nothing.
//! Best effort: a host that cannot write it only loses this memory (FORMAT.md, "Bound
//! parameters", what is left).

use std::path::PathBuf;

use super::cache::store_dir;
use super::id::Id;

const MARKER: &str = "authenticated";

pub struct Trust {
    marker: Option<PathBuf>,
}

impl Trust {
    pub fn for_store(store: &Id) -> Trust {
        Trust {
            marker: store_dir(store).map(|d| d.join(MARKER)),
        }
    }

    /// This host opened the store with an authenticated config before.
    pub fn seen_authenticated(&self) -> bool {
        self.marker.as_ref().is_some_and(|m| m.exists())
    }

    /// The key that opened the store last (a key object's name), when one did.
    pub fn last_key(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.marker.as_ref()?).ok()?;
        let name = text.trim();
        (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())).then(|| name.into())
    }

    /// The store opened with an authenticated config, by the key named `key`.
    pub fn remember(&self, key: &str) {
        let Some(marker) = &self.marker else { return };
        let Some(dir) = marker.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write;
            if tmp.write_all(key.as_bytes()).is_ok() {
                let _ = tmp.persist(marker);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_authentication_and_the_last_key_object() {
        let dir = tempfile::tempdir().unwrap();
        let trust = Trust {
            marker: Some(dir.path().join("store").join(MARKER)),
        };
        assert!(!trust.seen_authenticated());
        assert_eq!(trust.last_key(), None);
        trust.remember("config");
        assert!(trust.seen_authenticated());
        assert_eq!(
            trust.last_key(),
            None,
            "the config's key is tried first anyway"
        );
        let name = "ab".repeat(32);
        trust.remember(&name);
        assert_eq!(trust.last_key(), Some(name));
        std::fs::write(dir.path().join("store").join(MARKER), "../../etc").unwrap();
        assert_eq!(
            trust.last_key(),
            None,
            "only a key id is taken from the file"
        );
        assert!(trust.seen_authenticated());
    }

    #[test]
    fn without_a_cache_folder_nothing_is_remembered() {
        let trust = Trust { marker: None };
        trust.remember("config");
        assert!(!trust.seen_authenticated());
    }
}
