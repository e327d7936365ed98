//! The store format: keys, blobs, packs, index, trees and snapshots on top of one `Backend`.

pub mod backend;
pub mod blob_set;
pub mod bounds;
pub mod cache;
pub mod commit;
pub mod config;
pub mod config_rewrite;
pub mod control;
pub mod create;
pub mod crypto;
pub mod dictionary;
pub mod id;
pub mod index;
pub mod index_codec;
mod indexed;
pub mod keys;
pub mod lease;
pub mod load;
pub mod maintenance;
pub mod pack;
pub mod packer;
pub mod padding;
pub mod params;
pub mod protection;
pub mod size_privacy;
pub mod snapshot;
mod snapshot_list;
pub mod tree;
pub mod tree_pages;
pub mod trust;
mod unlock;
pub mod walk;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use bytes::Bytes;

use crate::error::KlosetError;
use backend::Backend;
use cache::Cache;
use config::StoreConfig;
use crypto::Keys;
use id::Id;
use index::{Index, IndexFile, PackEntry};
use snapshot::Snapshot;

pub use load::is_damage;

pub const CONFIG_KEY: &str = "config";
/// A config this kloset writes is under 2 KiB: a larger one is never downloaded whole.
const MAX_CONFIG: u64 = 64 * 1024;
pub const INDEX_AAD: &[u8] = b"kloset index";
pub const SNAPSHOT_AAD: &[u8] = b"kloset snapshot";
pub const DICTIONARY_AAD: &[u8] = b"kloset dictionary";
const DICTIONARIES: &str = "dicts";
/// Metadata reads (index files, snapshots, trees) in flight at once.
const META_CONCURRENCY: usize = 32;
/// The cache folder for whole tree packs of remote stores.
const TREE_PACKS: &str = "tree-packs";
const WHOLE_TREE_PACKS: usize = 4;

/// The only way into a store: its fields stay private, so the index can become a paged,
/// on-disk one and the cache can change without touching callers.
pub struct Repo {
    backend: Backend,
    config: StoreConfig,
    keys: Arc<Keys>,
    index: Index,
    cache: Arc<Cache>,
    /// Read metadata from the store even when the cache has it (`check`).
    bypass_cache: bool,
    health: load::Health,
    /// Whole tree packs fetched at once for the cache: each can be a full pack in memory.
    whole_tree_packs: Arc<tokio::sync::Semaphore>,
    /// Packs a prune marked for deletion, with when (see `maintenance`).
    retiring: HashMap<Id, maintenance::Mark>,
    /// The index files the index was loaded from (prune replaces exactly these).
    index_keys: Vec<String>,
    /// The packs each of those index files names (Object Lock: a retained index file keeps
    /// its packs).
    index_packs: HashMap<String, Vec<Id>>,
    /// Wrapped anew by `key add`; wiped when the repo is dropped.
    master: config::MasterKey,
    key_in_use: keys::KeyName,
    /// A writer's announcement to prune (backup, sync).
    lease: std::sync::Mutex<Option<lease::Lease>>,
    /// Signs and verifies marks, locks, leases and damage records.
    control: control::Control,
}

/// A store whose index is loaded: the only form that reads blobs, walks trees or asks where a
/// blob is, so no command can read through an index it forgot to load. Made by
/// `Repo::load_index` (or `Repo::snapshots_then_index`); everything else of `Repo` is reached
/// through it as well.
pub struct IndexedRepo(Repo);

impl std::ops::Deref for IndexedRepo {
    type Target = Repo;
    fn deref(&self) -> &Repo {
        &self.0
    }
}

/// Where a blob is: which pack, and the sealed range inside it.
#[derive(Clone, Copy, Debug)]
pub struct BlobRef {
    pub pack: u32,
    pub offset: u32,
    pub length: u32,
    pub raw_length: u32,
}

impl BlobRef {
    /// Sums in u64: an offset and a length read from the store never overflow or wrap.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.offset as u64..self.offset as u64 + self.length as u64
    }
}

impl Repo {
    /// The config, range-checked (`params::check_config`) before anything uses it.
    pub async fn read_config(backend: &Backend) -> Result<StoreConfig> {
        Ok(Self::read_config_or_previous(backend).await?.0)
    }

    /// The config, or when it is missing or does not parse, the `config.previous` a rewrite
    /// keeps (with why `config` was not used). Range-checked before anything uses it.
    async fn read_config_or_previous(
        backend: &Backend,
    ) -> Result<(StoreConfig, Option<&'static str>)> {
        let parsed = Self::read_config_object(backend, CONFIG_KEY).await?;
        let (config, why) = match parsed {
            Some(Ok(config)) => (config, None),
            other => match (config_rewrite::previous(backend).await?, other) {
                (Some(previous), Some(_)) => (previous, Some("is not valid")),
                (Some(previous), None) => (previous, Some("is missing")),
                (None, Some(Err(e))) => return Err(e),
                (None, _) => {
                    if Self::holds_data(backend).await? {
                        return Err(KlosetError::ConfigLost(backend.display.clone()).into());
                    }
                    return Err(KlosetError::NotInitialised(backend.display.clone()).into());
                }
            },
        };
        Self::check_format(backend, &config)?;
        Ok((config, why))
    }

    /// A config object read at most `MAX_CONFIG` bytes and parsed (None: not there).
    pub(super) async fn read_config_object(
        backend: &Backend,
        key: &str,
    ) -> Result<Option<Result<StoreConfig>>> {
        let Some(raw) = backend.get_at_most(key, MAX_CONFIG).await? else {
            return Ok(None);
        };
        if raw.len() as u64 > MAX_CONFIG {
            return Ok(Some(Err(KlosetError::Integrity(format!(
                "store {}: {key} is larger than any config kloset writes ({MAX_CONFIG} bytes): put back a copy of the config object",
                backend.display
            ))
            .into())));
        }
        Ok(Some(config_rewrite::parse(backend, key, &raw)))
    }

    fn check_format(backend: &Backend, config: &StoreConfig) -> Result<()> {
        if config.format != "kloset" || !config::READS_VERSIONS.contains(&config.version) {
            return Err(anyhow!(
                "store {} has format {} v{}, this kloset reads kloset v1 and v2: upgrade kloset",
                backend.display,
                config.format,
                config.version,
            ));
        }
        params::check_config(config)?;
        Ok(())
    }

    /// Unlocks the config, or a `config.previous` that verifies when the config does not.
    async fn unlock_config(backend: &Backend, passphrase: &str) -> Result<unlock::Opened> {
        let (config, fallback) = Self::read_config_or_previous(backend).await?;
        match unlock::open_keys(backend, config, passphrase).await {
            Ok(opened) => {
                if let Some(why) = fallback {
                    config_rewrite::warn_opened_with_previous(backend, why);
                }
                Ok(opened)
            }
            Err(e) if fallback.is_none() && load::is_damage(&e) => {
                let Some(previous) = config_rewrite::previous(backend).await? else {
                    return Err(e);
                };
                Self::check_format(backend, &previous)?;
                match unlock::open_keys(backend, previous, passphrase).await {
                    Ok(opened) => {
                        config_rewrite::warn_opened_with_previous(backend, "does not verify");
                        Ok(opened)
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Opens the store without loading the index (enough for listing snapshots).
    pub async fn open(backend: Backend, passphrase: &str) -> Result<Repo> {
        let unlock::Opened {
            config,
            master,
            key: key_in_use,
        } = Self::unlock_config(&backend, passphrase).await?;
        let keys = Keys::from_master(&master).with_padding(config.size_privacy.padding.is_some());
        let cache = if backend.remote {
            Cache::for_store(&config.id)
        } else {
            Cache::disabled()
        };
        Ok(Repo {
            control: control::Control::new(&master, config.id),
            backend,
            config,
            keys: Arc::new(keys),
            index: Index::default(),
            cache: Arc::new(cache),
            bypass_cache: false,
            health: load::Health::default(),
            whole_tree_packs: Arc::new(tokio::sync::Semaphore::new(WHOLE_TREE_PACKS)),
            retiring: HashMap::new(),
            index_keys: Vec::new(),
            index_packs: HashMap::new(),
            master,
            key_in_use,
            lease: std::sync::Mutex::new(None),
        })
    }

    /// Another handle on this store, unlocked with the same key, its index not loaded: a
    /// long-running reader (`mount`, `ui`) loads the index again when snapshots change,
    /// without asking for the passphrase again. It takes no lease and writes nothing.
    pub fn reopen(&self) -> Repo {
        Repo {
            control: control::Control::new(&self.master, self.config.id),
            backend: self.backend.clone(),
            config: self.config.clone(),
            keys: self.keys.clone(),
            index: Index::default(),
            cache: self.cache.clone(),
            bypass_cache: self.bypass_cache,
            health: load::Health::default(),
            whole_tree_packs: self.whole_tree_packs.clone(),
            retiring: HashMap::new(),
            index_keys: Vec::new(),
            index_packs: HashMap::new(),
            master: self.master.clone(),
            key_in_use: self.key_in_use.clone(),
            lease: std::sync::Mutex::new(None),
        }
    }

    /// Check the store itself: metadata is downloaded (and re-hashed) even when cached.
    pub fn bypass_cache(&mut self) {
        self.bypass_cache = true;
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// For `create --like`: what another store needs to share this one's blob ids.
    pub fn template(&self) -> config::Template {
        config::Template {
            master: self.master.clone(),
            chunker: self.config.chunker.clone(),
        }
    }

    /// Blob ids and chunk boundaries here are the same as in `other` (one made `--like` the
    /// other): data moves between them as it is.
    pub fn shares_ids_with(&self, other: &Repo) -> bool {
        let probe = b"kloset: do these stores name blobs alike?";
        let c = (&self.config.chunker, &other.config.chunker);
        self.keys.blob_id(probe) == other.keys.blob_id(probe)
            && self.keys.chunker_seed == other.keys.chunker_seed
            && (c.0.min_size, c.0.avg_size, c.0.max_size)
                == (c.1.min_size, c.1.avg_size, c.1.max_size)
    }

    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// The store is reached over the network (S3), where throughput comes from many requests
    /// in flight, not from a local disk.
    pub fn is_remote(&self) -> bool {
        self.backend.remote
    }

    /// Now, by this host's clock (see `clock`).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.backend.now()
    }

    /// How to name the store in messages.
    pub fn display(&self) -> &str {
        &self.backend.display
    }

    /// The keys of the index files stored now, sorted: a long-running reader compares them
    /// with those it loaded to know whether its index is stale (a prune repacked).
    pub async fn stored_index_keys(&self) -> Result<Vec<String>> {
        let mut keys: Vec<String> = self
            .backend
            .list("index")
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// (key, size) of every object stored under `packs/`.
    pub async fn stored_packs(&self) -> Result<Vec<(String, u64)>> {
        self.backend.list("packs").await
    }

    /// Leftovers of failed pack writes (local stores).
    pub fn partial_pack_writes(&self) -> Vec<String> {
        self.backend.partial_writes("packs")
    }

    /// One pack, as the pack writer uploads it (see `packer::Sink`).
    pub async fn save_pack(&self, entry: &PackEntry, bytes: Bytes) -> Result<()> {
        self.sink().save_pack(entry, bytes).await
    }

    pub async fn write_index(&self, file: &IndexFile) -> Result<Id> {
        self.sink().write_index(file).await
    }

    /// The store compresses small blobs with a dictionary of its own (not made with
    /// `create --no-dictionary`).
    pub fn trains_dictionary(&self) -> bool {
        !self.config.size_privacy.no_dictionary
    }

    /// Stores a trained dictionary and only then lets new blobs use it: no blob can name a
    /// dictionary the store lacks.
    pub async fn save_dictionary(&self, raw: Vec<u8>) -> Result<()> {
        dictionary::dict_id(&raw)?;
        let sealed = self.keys.seal(DICTIONARY_AAD, &raw);
        let id = Id::of_bytes(&sealed);
        self.backend
            .put(&format!("{DICTIONARIES}/{}", id.hex()), Bytes::from(sealed))
            .await?;
        self.keys.dictionaries.add(&raw, true)?;
        Ok(())
    }

    /// Every dictionary of the store, made readable; the first by name is used for writing.
    /// Returns the ones that do not open, which cost only the blobs compressed with them.
    pub(crate) async fn load_dictionaries(&self) -> Result<Vec<(String, String)>> {
        let mut names = self.backend.list(DICTIONARIES).await?;
        names.sort();
        let mut damaged = Vec::new();
        for (key, _) in names {
            let opened = match self.get_immutable(DICTIONARIES, &key).await {
                Ok(sealed) => decode_dictionary(&self.keys, &sealed)
                    .and_then(|raw| self.keys.dictionaries.add(&raw, self.trains_dictionary()))
                    .map_err(|e| KlosetError::Integrity(format!("{e:#}")).into()),
                Err(e) => Err(e),
            };
            match opened {
                Ok(_) => {}
                Err(e) if load::is_damage(&e) => damaged.push((key, format!("{e:#}"))),
                Err(e) => return Err(e),
            }
        }
        Ok(damaged)
    }

    pub async fn save_snapshot(&self, snap: &Snapshot) -> Result<Id> {
        let json = serde_json::to_vec(snap)?;
        let sealed = self.keys.seal(SNAPSHOT_AAD, &json);
        let id = Id::of_bytes(&sealed);
        self.backend
            .put(&format!("snapshots/{}", id.hex()), Bytes::from(sealed))
            .await?;
        Ok(id)
    }
}

/// A sealed dictionary opened, and checked to be one zstd can use (the raw dictionary).
pub fn decode_dictionary(keys: &Keys, sealed: &[u8]) -> Result<Vec<u8>> {
    let limit = bounds::metadata_plaintext(sealed.len(), bounds::DICTIONARY);
    let raw = keys.open_within(DICTIONARY_AAD, sealed, limit)?;
    dictionary::check(&raw)?;
    Ok(raw)
}

/// Decrypts a blob and checks that its content hashes back to its id and is as long as the
/// index says (`raw_length`): a blob is never placed by a length it does not have, and its
/// decompression never allocates more than that.
pub fn open_blob(keys: &Keys, id: &Id, sealed: &[u8], raw_length: u32) -> Result<Vec<u8>> {
    let plain = keys
        .open_exact(&id.0, sealed, raw_length as u64)
        .map_err(|e| KlosetError::Integrity(format!("blob {}: {e}", id.short())))?;
    if plain.len() as u64 != raw_length as u64 {
        return Err(KlosetError::Integrity(format!(
            "blob {} opens to {} bytes, the index says {raw_length}",
            id.short(),
            plain.len()
        ))
        .into());
    }
    if keys.blob_id(&plain) != *id {
        return Err(
            KlosetError::Integrity(format!("blob {} does not match its id", id.short())).into(),
        );
    }
    Ok(plain)
}
