//! The plaintext `config` object: format version, store id, chunker and KDF parameters, and
//! the master key wrapped under the passphrase-derived key.

use anyhow::{anyhow, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::crypto::{random_bytes, unwrap_key, wrap_key};
use super::id::Id;
use crate::error::KlosetError;

pub const FORMAT_VERSION: u32 = 1;

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
    /// Hex of `nonce || AES-256-GCM(kek, master key) || tag`, with the store id as AAD.
    /// Empty once `key rm config` removed this key (the store then opens with `keys/` only).
    pub master_key: String,
    /// The first 16 bytes of BLAKE3(wrapped master key), hex: tells a damaged `master_key`
    /// from a wrong passphrase (both fail the same tag). Absent in stores made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key_check: Option<String>,
    /// Keyed BLAKE3 (a subkey of the master key) over every other field: the chunker and pack
    /// parameters cannot be changed unnoticed. Absent in stores made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

pub struct KdfCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

/// What a store made with `create --like` takes from another: its master key (so blob ids,
/// the chunker's seed and the data key are the same, and synced data moves without
/// re-chunking) and its chunker parameters. Its id, passphrase and KDF are its own.
#[derive(Clone)]
pub struct Template {
    pub master: [u8; 32],
    pub chunker: ChunkerParams,
}

impl StoreConfig {
    /// A new store config and its fresh random master key.
    pub fn new(
        passphrase: &str,
        cost: KdfCost,
        pack_size: u64,
        like: Option<&Template>,
    ) -> Result<(StoreConfig, [u8; 32])> {
        let master: [u8; 32] = like.map_or_else(random_bytes, |t| t.master);
        let id = Id(random_bytes());
        let kdf = KdfParams {
            algorithm: "argon2id".into(),
            memory_kib: cost.memory_kib,
            iterations: cost.iterations,
            parallelism: 1,
            salt: hex::encode(random_bytes::<16>()),
        };
        let kek = derive_kek(passphrase, &kdf)?;
        let wrapped = wrap_key(&kek, &id.0, &master);
        let config = StoreConfig {
            format: "kloset".into(),
            version: FORMAT_VERSION,
            id,
            created: Utc::now(),
            chunker: like.map_or_else(ChunkerParams::default, |t| t.chunker.clone()),
            pack_size,
            kdf,
            master_key_check: Some(key_check(&wrapped)),
            master_key: hex::encode(wrapped),
            mac: None,
        };
        let config = StoreConfig {
            mac: Some(config.mac_with(&master)?),
            ..config
        };
        Ok((config, master))
    }

    /// Every field but `mac`, in a fixed form.
    fn mac_with(&self, master: &[u8; 32]) -> Result<String> {
        let fields = StoreConfig {
            mac: None,
            ..self.clone()
        };
        let key = blake3::derive_key("kloset 2026 config mac", master);
        Ok(blake3::keyed_hash(&key, &serde_json::to_vec(&fields)?)
            .to_hex()
            .to_string())
    }

    /// The config still holds the key it was created with.
    pub fn has_own_key(&self) -> bool {
        !self.master_key.is_empty()
    }

    /// The same config without its own key (`key rm config`), with its mac made anew.
    pub fn without_own_key(&self, master: &[u8; 32]) -> Result<StoreConfig> {
        let config = StoreConfig {
            master_key: String::new(),
            master_key_check: None,
            mac: None,
            ..self.clone()
        };
        Ok(StoreConfig {
            mac: Some(config.mac_with(master)?),
            ..config
        })
    }

    /// A key object's master key must also match the config's mac: a config altered by
    /// someone without the key is told apart from a wrong passphrase.
    pub fn verify_mac(&self, master: &[u8; 32]) -> Result<()> {
        if self
            .mac
            .as_ref()
            .is_some_and(|m| *m != self.mac_with(master).unwrap_or_default())
        {
            return Err(KlosetError::Integrity(
                "the store's config is damaged (its fields were changed after it was made): put back a copy of the config object".into(),
            )
            .into());
        }
        Ok(())
    }

    /// None means the passphrase is wrong. A damaged or altered config is an integrity error.
    pub fn unlock(&self, passphrase: &str) -> Result<Option<[u8; 32]>> {
        let damaged = |what: &str| {
            KlosetError::Integrity(format!(
                "the store's config is damaged ({what}): put back a copy of the config object"
            ))
        };
        let wrapped =
            hex::decode(&self.master_key).map_err(|_| damaged("master_key is not hex"))?;
        if self
            .master_key_check
            .as_ref()
            .is_some_and(|c| *c != key_check(&wrapped))
        {
            return Err(damaged("master_key does not match its check").into());
        }
        let kek = derive_kek(passphrase, &self.kdf)?;
        let Some(master) = unwrap_key(&kek, &self.id.0, &wrapped) else {
            return Ok(None);
        };
        if self
            .mac
            .as_ref()
            .is_some_and(|m| *m != self.mac_with(&master).unwrap_or_default())
        {
            return Err(damaged("its fields were changed after it was made").into());
        }
        Ok(Some(master))
    }
}

fn key_check(wrapped: &[u8]) -> String {
    hex::encode(&blake3::hash(wrapped).as_bytes()[..16])
}

pub(super) fn derive_kek(passphrase: &str, kdf: &KdfParams) -> Result<[u8; 32]> {
    if kdf.algorithm != "argon2id" {
        return Err(anyhow!("config: unsupported KDF '{}'", kdf.algorithm));
    }
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| anyhow!("config: bad Argon2id parameters: {e}"))?;
    let salt = hex::decode(&kdf.salt).map_err(|_| anyhow!("config: KDF salt is not hex"))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, &mut out)
        .map_err(|e| anyhow!("Argon2id failed: {e}"))?;
    Ok(out)
}
