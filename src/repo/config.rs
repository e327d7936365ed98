//! The plaintext `config` object: format version, store id, chunker and KDF parameters, and
//! the master key wrapped under the passphrase-derived key.

use anyhow::{anyhow, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::crypto::{random_bytes, unwrap_key, wrap_key};
use super::id::Id;
use super::params;
pub use super::size_privacy::{Padding, SizePrivacy};
use crate::error::KlosetError;

/// What `create` writes: version 2 stores have binary index files (FORMAT.md, "Index
/// files"), which a kloset reading only version 1 would take for damage; it refuses the store
/// instead.
pub const FORMAT_VERSION: u32 = 2;
/// Versions this kloset opens; a version 1 store keeps writing JSON index files.
pub const READS_VERSIONS: [u32; 2] = [1, 2];

/// `FORMAT_VERSION`, or with `KLOSET_TEST_FORMAT_VERSION` an older one this kloset still
/// reads (tests make the stores an older kloset made).
fn version_to_create() -> u32 {
    std::env::var("KLOSET_TEST_FORMAT_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| READS_VERSIONS.contains(v))
        .unwrap_or(FORMAT_VERSION)
}

/// Index files of this store are written in the binary form.
pub fn binary_index(version: u32) -> bool {
    version >= 2
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChunkerParams {
    pub min_size: u32,
    pub avg_size: u32,
    pub max_size: u32,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        ChunkerParams {
            min_size: 512 * 1024,
            avg_size: 1024 * 1024,
            max_size: 8 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KdfParams {
    pub algorithm: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoreConfig {
    pub format: String,
    pub version: u32,
    pub id: Id,
    pub created: DateTime<Utc>,
    pub chunker: ChunkerParams,
    pub pack_size: u64,
    pub kdf: KdfParams,
    /// Hex of `nonce || AES-256-GCM(kek, master key) || tag`, with the bound parameters as AAD
    /// (the store id alone in keys made before them: FORMAT.md, "Bound parameters").
    /// Empty once `key rm config` removed this key (the store then opens with `keys/` only).
    pub master_key: String,
    /// The first 16 bytes of BLAKE3(wrapped master key), hex: tells a damaged `master_key`
    /// from a wrong passphrase (both fail the same tag). Absent in stores made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key_check: Option<String>,
    /// `passphrase_check(kek)`: a right passphrase whose key no longer unwraps means the bound
    /// parameters were changed, not that the passphrase is wrong. Absent in older stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_check: Option<String>,
    /// What the store's sizes may tell (`create --no-dictionary`, `--padding`). Absent when
    /// both are off, so configs made before it keep their mac.
    #[serde(default, skip_serializing_if = "SizePrivacy::is_default")]
    pub size_privacy: SizePrivacy,
    /// Snapshots may hold S3 key histories (`versions=all`), whose versions' blobs a kloset
    /// that predates them would not count as used, and prune away. Set before the first such
    /// snapshot is written; such a kloset refuses the store instead (its MAC covers a field
    /// it does not know). FORMAT.md, "Key histories".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub histories: bool,
    /// Keyed BLAKE3 (a subkey of the master key) over every other field: the chunker and pack
    /// parameters cannot be changed unnoticed. Absent in stores made before it; required once
    /// a key is bound or this host has seen the store with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

pub struct KdfCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

pub type MasterKey = Zeroizing<[u8; 32]>;

/// What a store made with `create --like` takes from another: its master key (so blob ids,
/// the chunker's seed and the data key are the same, and synced data moves without
/// re-chunking) and its chunker parameters. Its id, passphrase and KDF are its own.
#[derive(Clone)]
pub struct Template {
    pub master: MasterKey,
    pub chunker: ChunkerParams,
}

/// Which associated data a wrapped master key verified under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStyle {
    /// The bound parameters: every key made now.
    Bound,
    /// The store id alone: keys made before; rewrapped when they are used.
    Legacy,
}

/// A master key, how it was wrapped, and the key that unwrapped it (kept to rewrap a legacy
/// key without running Argon2 again).
pub struct Unwrapped {
    pub master: MasterKey,
    pub kek: Zeroizing<[u8; 32]>,
    pub style: KeyStyle,
}

/// The bound AAD first, then the legacy one. None: another passphrase's key, or a wrong one.
pub(super) fn unwrap_master(
    config: &StoreConfig,
    kdf: &KdfParams,
    kek: &[u8; 32],
    wrapped: &[u8],
) -> Option<(MasterKey, KeyStyle)> {
    if let Some(master) = unwrap_key(kek, &params::bound_aad(config, kdf), wrapped) {
        return Some((master, KeyStyle::Bound));
    }
    unwrap_key(kek, &config.id.0, wrapped).map(|m| (m, KeyStyle::Legacy))
}

fn damaged(what: &str) -> anyhow::Error {
    KlosetError::Integrity(format!(
        "the store's config is damaged ({what}): put back a copy of the config object"
    ))
    .into()
}

/// Refused whenever a config has no MAC but must: written so the user knows it is not a
/// passphrase problem.
pub fn missing_mac(why: &str) -> anyhow::Error {
    KlosetError::Integrity(format!(
        "the store's config has no MAC, but {why}: someone altered it; put back a copy of the config object (or 'kloset check' it on a host you trust)"
    ))
    .into()
}

impl StoreConfig {
    /// A new store config and its fresh random master key, wrapped under the bound parameters.
    pub fn new(
        passphrase: &str,
        cost: KdfCost,
        pack_size: u64,
        like: Option<&Template>,
    ) -> Result<(StoreConfig, MasterKey)> {
        let master: MasterKey = Zeroizing::new(like.map_or_else(random_bytes, |t| *t.master));
        let kdf = KdfParams {
            algorithm: "argon2id".into(),
            memory_kib: cost.memory_kib,
            iterations: cost.iterations,
            parallelism: 1,
            salt: hex::encode(random_bytes::<16>()),
        };
        let config = StoreConfig {
            format: "kloset".into(),
            version: version_to_create(),
            id: Id(random_bytes()),
            created: Utc::now(),
            chunker: like.map_or_else(ChunkerParams::default, |t| t.chunker.clone()),
            pack_size,
            kdf,
            master_key: String::new(),
            master_key_check: None,
            passphrase_check: None,
            size_privacy: SizePrivacy::default(),
            histories: false,
            mac: None,
        };
        params::check_config(&config)?;
        let kek = derive_kek(passphrase, &config.kdf)?;
        let config = config.with_own_key_bound(&kek, &master)?;
        Ok((config, master))
    }

    /// The same config with these size trade-offs, its mac made anew (at creation).
    pub fn with_size_privacy(
        &self,
        size_privacy: SizePrivacy,
        master: &[u8; 32],
    ) -> Result<StoreConfig> {
        let config = StoreConfig {
            size_privacy,
            mac: None,
            ..self.clone()
        };
        Ok(StoreConfig {
            mac: Some(config.mac_with(master)?),
            ..config
        })
    }

    /// Every field but `mac`, in a fixed form.
    fn mac_with(&self, master: &[u8; 32]) -> Result<String> {
        let fields = StoreConfig {
            mac: None,
            ..self.clone()
        };
        let key = Zeroizing::new(blake3::derive_key("kloset 2026 config mac", master));
        Ok(blake3::keyed_hash(&key, &serde_json::to_vec(&fields)?)
            .to_hex()
            .to_string())
    }

    /// The same config with its MAC made anew (or for the first time).
    pub fn with_mac(&self, master: &[u8; 32]) -> Result<StoreConfig> {
        Ok(StoreConfig {
            mac: Some(self.mac_with(master)?),
            ..self.clone()
        })
    }

    /// The config still holds the key it was created with.
    pub fn has_own_key(&self) -> bool {
        !self.master_key.is_empty()
    }

    /// The same config without its own key (`key rm config`), with its mac made anew.
    pub fn without_own_key(&self, master: &[u8; 32]) -> Result<StoreConfig> {
        StoreConfig {
            master_key: String::new(),
            master_key_check: None,
            passphrase_check: None,
            ..self.clone()
        }
        .with_mac(master)
    }

    /// The config's own key wrapped anew under the bound parameters, with its check and MAC.
    pub fn with_own_key_bound(&self, kek: &[u8; 32], master: &[u8; 32]) -> Result<StoreConfig> {
        let wrapped = wrap_key(kek, &params::bound_aad(self, &self.kdf), master);
        StoreConfig {
            master_key_check: Some(key_check(&wrapped)),
            passphrase_check: Some(passphrase_check(kek)),
            master_key: hex::encode(wrapped),
            ..self.clone()
        }
        .with_mac(master)
    }

    /// A MAC that is there must match; a config altered by someone without the key is told
    /// apart from a wrong passphrase.
    pub fn verify_mac(&self, master: &[u8; 32]) -> Result<()> {
        if self
            .mac
            .as_ref()
            .is_some_and(|m| *m != self.mac_with(master).unwrap_or_default())
        {
            return Err(damaged("its fields were changed after it was made"));
        }
        Ok(())
    }

    /// Whether a master key that unwrapped may open this config: its MAC must verify, and
    /// may be absent only for a legacy key on a store this host never saw authenticated.
    pub fn accept(
        &self,
        master: &[u8; 32],
        style: KeyStyle,
        seen_authenticated: bool,
    ) -> Result<()> {
        match (&self.mac, style) {
            (Some(_), _) => self.verify_mac(master),
            (None, KeyStyle::Bound) => Err(missing_mac("its key is bound to its parameters")),
            (None, KeyStyle::Legacy) if seen_authenticated => Err(missing_mac(
                "this host opened the store with an authenticated config before",
            )),
            (None, KeyStyle::Legacy) => Ok(()),
        }
    }

    /// The config's own key. None means the passphrase is wrong (or the key was removed); a
    /// damaged key is an integrity error. The MAC is the caller's to `accept`.
    pub fn unwrap_own_key(&self, passphrase: &str) -> Result<Option<Unwrapped>> {
        if !self.has_own_key() {
            return Ok(None);
        }
        let wrapped =
            hex::decode(&self.master_key).map_err(|_| damaged("master_key is not hex"))?;
        if self
            .master_key_check
            .as_ref()
            .is_some_and(|c| *c != key_check(&wrapped))
        {
            return Err(damaged("master_key does not match its check"));
        }
        let kek = derive_kek(passphrase, &self.kdf)?;
        match unwrap_master(self, &self.kdf, &kek, &wrapped) {
            Some((master, style)) => Ok(Some(Unwrapped { master, kek, style })),
            None if self.passphrase_check == Some(passphrase_check(&kek)) => {
                Err(damaged("its parameters were changed after it was made"))
            }
            None => Ok(None),
        }
    }
}

/// A check of the passphrase-derived key alone (no parameters): it tells an altered store from
/// a wrong passphrase, and guessing a passphrase with it costs the same Argon2 as with the
/// wrapped key itself.
pub(super) fn passphrase_check(kek: &[u8; 32]) -> String {
    let key = Zeroizing::new(blake3::derive_key("kloset 2026 passphrase check", kek));
    hex::encode(&blake3::keyed_hash(&key, b"").as_bytes()[..16])
}

fn key_check(wrapped: &[u8]) -> String {
    hex::encode(&blake3::hash(wrapped).as_bytes()[..16])
}

/// Argon2id, only with parameters inside the caps (`params::check_kdf`): parameters read from
/// the store never reach Argon2 unchecked.
pub fn derive_kek(passphrase: &str, kdf: &KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    params::check_kdf(kdf).map_err(|why| {
        anyhow::Error::from(KlosetError::Integrity(format!(
            "a key's KDF parameters are refused ({why}): put back a copy of the config object"
        )))
    })?;
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| anyhow!("config: bad Argon2id parameters: {e}"))?;
    let salt = hex::decode(&kdf.salt).map_err(|_| anyhow!("config: KDF salt is not hex"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, &mut *out)
        .map_err(|e| anyhow!("Argon2id failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
