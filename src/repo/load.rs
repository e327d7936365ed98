//! Loading what a command needs from the store, so that damage costs only what it touches:
//! an index file that does not open is skipped and the packs it named are found again from
//! their own headers; a pack that is missing, truncated or marked damaged by `check` no longer
//! counts as storing its blobs (so the next backup saves them again from the source).

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Result};
use futures::{stream, StreamExt};

use super::bounds;
use super::control::Found;
use super::crypto::Keys;
use super::id::Id;
use super::index::{check_entries, pack_key, Index, IndexFile, PackEntry};
use super::pack::read_header;
pub use super::snapshot_list::{decode_snapshot, SnapshotList};
use super::{IndexedRepo, Repo, INDEX_AAD, META_CONCURRENCY};
use crate::error::KlosetError;

/// Where `check` records packs whose content it found damaged.
pub const DAMAGED_PREFIX: &str = "damaged";
/// Index files fetched and decoded at once: each can be 100,000 entries and more (a pack is
/// never split), several MB decoded, so not `META_CONCURRENCY` of them.
const INDEX_FILES_AT_ONCE: usize = 8;
/// How much of a pack's end is read for its header at first.
const HEADER_GUESS: u64 = 64 * 1024;

#[derive(Debug, Default)]
pub struct Health {
    /// Index files that could not be read, with why.
    pub damaged_index: Vec<(String, String)>,
    /// Indexed packs that are not in the store.
    pub missing_packs: Vec<Id>,
    /// Indexed packs that are shorter than the index says, or were marked damaged by `check`.
    pub damaged_packs: Vec<(Id, String)>,
    /// Packs no readable index file named, whose blobs were read from their headers.
    pub recovered_packs: Vec<PackEntry>,
    /// Dictionaries that do not open: only the blobs compressed with them are lost.
    pub damaged_dictionaries: Vec<(String, String)>,
    /// Every damage record found, authentic or not, by pack (`check --read-data` removes the
    /// records of a pack that verifies).
    pub damage_records: Vec<(Id, String)>,
    /// Damage records without a valid MAC: ignored (FORMAT.md, "Control objects").
    pub unauthenticated_damage: Vec<String>,
}

impl Repo {
    /// Loads the index: the step from a store that can list snapshots to one that reads them.
    pub async fn load_index(mut self) -> Result<IndexedRepo> {
        self.fill_index().await?;
        Ok(IndexedRepo(self))
    }

    /// Snapshots first, then the index, the order every command that judges snapshots against
    /// the index needs: a writer writes its index files before its snapshot, so every snapshot
    /// listed here finds its blobs in the index loaded after.
    pub async fn snapshots_then_index(self) -> Result<(SnapshotList, IndexedRepo)> {
        let list = self.snapshot_list().await?;
        Ok((list, self.load_index().await?))
    }

    async fn fill_index(&mut self) -> Result<()> {
        let damaged_dictionaries = self.load_dictionaries().await?;
        let names = self.backend.list("index").await?;
        let stored: HashMap<Id, u64> = self
            .backend
            .list("packs")
            .await?
            .into_iter()
            .filter_map(|(k, size)| Some((id_of_key(&k)?, size)))
            .collect();
        let records = self.damage_records().await?;
        let marked: HashSet<Id> = records
            .iter()
            .filter(|r| r.authentic)
            .map(|r| r.pack)
            .collect();
        let retiring = self.retiring_markers().await?;
        let mut health = Health {
            damaged_dictionaries,
            damage_records: records.iter().map(|r| (r.pack, r.key.clone())).collect(),
            unauthenticated_damage: records
                .iter()
                .filter(|r| !r.authentic)
                .map(|r| r.key.clone())
                .collect(),
            ..Health::default()
        };
        // Judged by pack, over every listing of it (its end is the furthest any listing
        // says), once all are in: a pack listed twice is never sound by one listing and
        // damaged by another.
        let why_bad = |id: &Id, end: u64| -> Option<String> {
            match stored.get(id) {
                None => Some("missing".into()),
                Some(&size) if size < end + 4 => Some(format!("truncated ({size} bytes)")),
                Some(_) if marked.contains(id) => Some("marked damaged by check".into()),
                Some(_) => None,
            }
        };
        let judge = |builder: &mut super::index::IndexBuilder<'_>,
                     bad: &mut HashMap<Id, String>| {
            let found: Vec<(u32, Id, String)> = builder
                .packs()
                .filter_map(|(n, id, end)| Some((n, id, why_bad(&id, end)?)))
                .collect();
            for (n, id, why) in found {
                builder.demote(n);
                bad.insert(id, why);
            }
        };
        let rank = |id: &Id| u8::from(retiring.contains_key(id));
        let mut index = Index::default();
        let mut builder = index.builder();
        let mut loaded_keys = Vec::new();
        let mut index_packs = HashMap::new();
        let mut bad: HashMap<Id, String> = HashMap::new();
        let this = &*self;
        // Each file is added as it arrives and dropped: the entries are never held twice.
        let mut loading = stream::iter(names)
            .map(|(key, size)| async move {
                let keys = this.keys.clone();
                let file = match this.get_listed("index", &key, size).await {
                    Ok(raw) => {
                        let k = key.clone();
                        let pack_size = this.config.pack_size;
                        tokio::task::spawn_blocking(move || {
                            decode_index(&keys, &k, &raw, pack_size)
                        })
                        .await?
                    }
                    Err(e) => Err(e),
                };
                Ok::<_, anyhow::Error>((key, file))
            })
            .buffer_unordered(INDEX_FILES_AT_ONCE);
        while let Some(loaded) = loading.next().await {
            let (key, file) = loaded?;
            match file {
                Ok(f) => {
                    for pack in &f.packs {
                        builder.add(pack, rank(&pack.id));
                    }
                    index_packs.insert(key.clone(), f.packs.iter().map(|p| p.id).collect());
                    loaded_keys.push(key);
                }
                Err(e) if is_damage(&e) => health.damaged_index.push((key, format!("{e:#}"))),
                Err(e) => return Err(e),
            }
        }
        drop(loading);
        judge(&mut builder, &mut bad);
        builder.finish();
        if !health.damaged_index.is_empty() {
            let unnamed: Vec<Id> = stored
                .keys()
                .filter(|id| !index.has_pack(id))
                .copied()
                .collect();
            let (recovered, _) = self.headers_of(unnamed).await?;
            // Ranked like indexed packs: a recovered pack that check marked damaged, or that
            // a prune is retiring, is not taken for a sound copy.
            let mut builder = index.builder();
            for pack in &recovered {
                builder.add(pack, rank(&pack.id));
            }
            judge(&mut builder, &mut bad);
            builder.finish();
            health.recovered_packs = recovered;
        }
        // Read again after the index: a prune that marked packs meanwhile is seen (markers
        // read first ranked the copies; one marked since then is still not reused).
        let mut retiring = retiring;
        retiring.extend(self.retiring_markers().await?);
        for id in retiring.keys().filter(|id| !bad.contains_key(id)) {
            index.set_retiring(id);
        }
        self.retiring = retiring;
        self.index_keys = loaded_keys;
        self.index_packs = index_packs;
        for (id, why) in bad {
            if why == "missing" {
                health.missing_packs.push(id);
            } else {
                health.damaged_packs.push((id, why));
            }
        }
        self.index = index;
        self.health = health;
        Ok(())
    }

    /// The blob lists of packs, read from their headers, and the packs whose header is
    /// damaged (or that vanished meanwhile). A failure to reach the store is an error, never
    /// taken for damage: callers delete things on the strength of this answer.
    pub async fn headers_of(&self, packs: Vec<Id>) -> Result<(Vec<PackEntry>, Vec<Id>)> {
        let read: Vec<(Id, Option<PackEntry>)> = stream::iter(packs)
            .map(|id| async move { Ok::<_, anyhow::Error>((id, self.header_of(id).await?)) })
            .buffer_unordered(META_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let mut found = Vec::new();
        let mut unreadable = Vec::new();
        for (id, entry) in read {
            match entry {
                Some(e) => found.push(e),
                None => unreadable.push(id),
            }
        }
        found.sort_by_key(|e| e.id);
        unreadable.sort();
        Ok((found, unreadable))
    }

    /// Ok(None): the pack is gone or its header does not open.
    async fn header_of(&self, id: Id) -> Result<Option<PackEntry>> {
        let key = pack_key(&id);
        let mut want = HEADER_GUESS;
        for _ in 0..2 {
            let tail = match self.backend.get_suffix(&key, want).await {
                Ok(t) => t,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            // The header's length is checked against its bound before more is asked for.
            match read_header(&self.keys, &tail, self.config.pack_size) {
                Ok(Ok(blobs)) => return Ok(Some(PackEntry { id, blobs })),
                Ok(Err(n)) if n as u64 > want => want = n as u64,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Removes an index file that does not open (after its packs were indexed again).
    pub async fn delete_index_file(&self, key: &str) -> Result<()> {
        self.backend.delete(key).await
    }

    /// Records that a pack's content is damaged: later loads treat its blobs as not stored.
    pub async fn mark_damaged(&self, pack: &Id) -> Result<()> {
        self.put_plain_control(&damage_key(pack)).await
    }

    /// Removes a damage record: its pack verified again, or the record is not authentic.
    pub async fn remove_damage_record(&self, key: &str) -> Result<()> {
        self.backend.delete(key).await
    }

    /// `damaged/<pack id>` objects, each read and its MAC checked. Only authentic ones count:
    /// a planted record must not make backups save a sound pack's blobs again, nor prune keep
    /// it.
    async fn damage_records(&self) -> Result<Vec<DamageRecord>> {
        let listed = self.backend.list(DAMAGED_PREFIX).await?;
        let read: Vec<Option<DamageRecord>> = stream::iter(listed)
            .map(|(key, size)| async move {
                let Some(pack) = id_of_key(&key) else {
                    return Ok(None);
                };
                let authentic = match self.read_control(&key, size).await? {
                    Found::Gone => return Ok(None),
                    Found::Authentic(_) => true,
                    Found::Unauthenticated(_) => false,
                };
                Ok::<_, anyhow::Error>(Some(DamageRecord {
                    pack,
                    key,
                    authentic,
                }))
            })
            .buffer_unordered(META_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        Ok(read.into_iter().flatten().collect())
    }

    /// The bound of an immutable object's kind (`get_immutable`).
    fn bound_of(&self, kind: &str) -> (&'static str, u64) {
        match kind {
            "index" => ("index file", bounds::index_file(self.config.pack_size)),
            "snapshots" => ("snapshot", bounds::SNAPSHOT),
            _ => ("dictionary", bounds::DICTIONARY),
        }
    }

    /// `get_immutable` of an object whose listed size is known: one over its kind's bound is
    /// damage without a request.
    pub(super) async fn get_listed(&self, kind: &str, key: &str, size: u64) -> Result<Vec<u8>> {
        let (what, max) = self.bound_of(kind);
        bounds::check(&format!("{what} {key}"), size, max).map_err(KlosetError::Integrity)?;
        self.get_immutable(kind, key).await
    }

    /// An index file, snapshot or dictionary, from the cache when it holds the same bytes.
    /// Whatever comes from the store is re-hashed against its name: an overwritten object is
    /// damage. Neither is read when it is larger than its kind's bound.
    pub(super) async fn get_immutable(&self, kind: &str, key: &str) -> Result<Vec<u8>> {
        let id = id_of_key(key);
        let (what, max) = self.bound_of(kind);
        if !self.bypass_cache {
            if let Some(hit) = id.and_then(|id| self.cache.get(kind, &id, max)) {
                return Ok(hit);
            }
        }
        let what = format!("{what} {key}");
        let raw = self.backend.get_bounded(key, &what, max).await?;
        let raw = raw.ok_or_else(|| match kind {
            "snapshots" => anyhow::Error::from(KlosetError::UnknownSnapshot(key.to_string())),
            _ => anyhow!("{key} vanished while reading: run the command again"),
        })?;
        if let Some(id) = id {
            if Id::of_bytes(&raw) != id {
                return Err(KlosetError::Integrity(format!(
                    "{key} is damaged: its content does not match its name"
                ))
                .into());
            }
            self.cache.put(kind, &id, &raw);
        }
        Ok(raw.to_vec())
    }
}

/// An error like `e`, for another caller: damage stays damage and a remote failure keeps its
/// kind (and so its exit code); only the words are copied.
pub fn same_class(e: &anyhow::Error) -> anyhow::Error {
    let msg = format!("{e:#}");
    if is_damage(e) {
        let msg = msg.strip_prefix("integrity error: ").unwrap_or(&msg);
        return KlosetError::Integrity(msg.to_string()).into();
    }
    match crate::remote::kind_of(e) {
        Some(kind) => crate::remote::again(kind, msg),
        None => anyhow!("{msg}"),
    }
}

/// Damage (a failed authentication, a hash or format mismatch), as opposed to a failure to
/// reach the store, which must stop the command rather than hide data.
pub fn is_damage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<KlosetError>(),
            Some(KlosetError::Integrity(_))
        )
    })
}

fn is_not_found(e: &anyhow::Error) -> bool {
    crate::remote::kind_of(e) == Some(crate::remote::RemoteKind::NotFound)
}

struct DamageRecord {
    pack: Id,
    key: String,
    authentic: bool,
}

fn damage_key(pack: &Id) -> String {
    format!("{DAMAGED_PREFIX}/{}", pack.hex())
}

pub(super) fn id_of_key(key: &str) -> Option<Id> {
    key.rsplit('/').next().and_then(|name| Id::parse(name).ok())
}

/// An index file's sealed bytes opened and parsed; any fault in them is damage (an
/// integrity error), never a panic. `pack_size` bounds what it may open to.
pub fn decode_index(keys: &Keys, key: &str, raw: &[u8], pack_size: u64) -> Result<IndexFile> {
    let damaged = |e: String| KlosetError::Integrity(format!("index file {key} is damaged: {e}"));
    let limit = bounds::metadata_plaintext(raw.len(), bounds::index_file(pack_size));
    let plain = keys
        .open_within(INDEX_AAD, raw, limit)
        .map_err(|e| damaged(e.to_string()))?;
    let file = super::index_codec::decode(&plain).map_err(damaged)?;
    for pack in &file.packs {
        check_entries(&pack.blobs).map_err(damaged)?;
    }
    Ok(file)
}

impl IndexedRepo {
    /// Stored packs that no readable index file names (including those recovered from their
    /// headers while loading).
    pub async fn unindexed_packs(&self) -> Result<Vec<Id>> {
        let named: HashSet<Id> = self.index.pack_ids().iter().copied().collect();
        let recovered: HashSet<Id> = self.health.recovered_packs.iter().map(|p| p.id).collect();
        Ok(self
            .backend
            .list("packs")
            .await?
            .iter()
            .filter_map(|(k, _)| id_of_key(k))
            .filter(|id| !named.contains(id) || recovered.contains(id))
            .collect())
    }

    /// Packs named by index files that were not loaded (written since, by writers or by this
    /// prune). None when one of them does not open: what it names cannot be known.
    pub async fn packs_named_by_other_index_files(&self) -> Result<Option<HashSet<Id>>> {
        let loaded: HashSet<&String> = self.index_keys.iter().collect();
        let mut named = HashSet::new();
        for (key, size) in self.backend.list("index").await? {
            if loaded.contains(&key) {
                continue;
            }
            let file = match self.get_listed("index", &key, size).await {
                Ok(raw) => decode_index(&self.keys, &key, &raw, self.config.pack_size),
                Err(e) => Err(e),
            };
            match file {
                Ok(f) => named.extend(f.packs.iter().map(|p| p.id)),
                Err(e) if is_damage(&e) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(Some(named))
    }
}
