//! The plaintext `config` object: format version, store id, chunker and KDF parameters, and
//! the master key wrapped under the passphrase-derived key.

use anyhow::{anyhow, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::crypto::{random_bytes, unwrap_key, wrap_key};
use super::id::Id;
pub use super::size_privacy::{Padding, SizePrivacy};
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
    /// What the store's sizes may tell (`create --no-dictionary`, `--padding`). Absent when
    /// both are off, so configs made before it keep their mac.
    #[serde(default, skip_serializing_if = "SizePrivacy::is_default")]
    pub size_privacy: SizePrivacy,
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
            size_privacy: SizePrivacy::default(),
            mac: None,
        };
        let config = StoreConfig {
            mac: Some(config.mac_with(&master)?),
            ..config
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The cheapest cost Argon2id accepts: these tests are about the logic, not the KDF.
    fn cheap() -> KdfCost {
        KdfCost {
            memory_kib: 8,
            iterations: 1,
        }
    }

    fn made(passphrase: &str) -> (StoreConfig, [u8; 32]) {
        StoreConfig::new(passphrase, cheap(), 16 << 20, None).unwrap()
    }

    fn integrity(e: anyhow::Error) -> String {
        assert!(
            matches!(
                e.downcast_ref::<KlosetError>(),
                Some(KlosetError::Integrity(_))
            ),
            "{e}"
        );
        e.to_string()
    }

    #[test]
    fn a_new_config_unlocks_with_its_passphrase_only() {
        let (c, master) = made("correct horse");
        assert_eq!(c.unlock("correct horse").unwrap(), Some(master));
        assert_eq!(c.unlock("wrong").unwrap(), None);
        assert_eq!(c.unlock("").unwrap(), None);
    }

    #[test]
    fn a_new_config_has_its_fields_set() {
        let (c, _) = made("p");
        assert_eq!((c.format.as_str(), c.version), ("kloset", FORMAT_VERSION));
        assert_eq!(c.pack_size, 16 << 20);
        assert_eq!(c.kdf.algorithm, "argon2id");
        assert_eq!(
            (c.kdf.memory_kib, c.kdf.iterations, c.kdf.parallelism),
            (8, 1, 1)
        );
        assert_eq!(c.kdf.salt.len(), 32);
        assert!(c.has_own_key());
        assert!(c.master_key_check.is_some() && c.mac.is_some());
        let (d, _) = made("p");
        assert_ne!(c.id, d.id);
        assert_ne!(c.kdf.salt, d.kdf.salt);
        assert_ne!(c.master_key, d.master_key);
    }

    #[test]
    fn a_store_made_like_another_shares_its_master_key_and_chunker_only() {
        let (a, master) = made("a");
        let like = Template {
            master,
            chunker: ChunkerParams {
                min_size: 1,
                avg_size: 2,
                max_size: 3,
            },
        };
        let (b, b_master) = StoreConfig::new("b", cheap(), 1 << 20, Some(&like)).unwrap();
        assert_eq!(b_master, master);
        assert_eq!(
            (b.chunker.min_size, b.chunker.avg_size, b.chunker.max_size),
            (1, 2, 3)
        );
        assert_ne!(a.id, b.id);
        assert_eq!(b.unlock("b").unwrap(), Some(master));
        assert_eq!(b.unlock("a").unwrap(), None, "its passphrase is its own");
    }

    #[test]
    fn default_chunker_sizes_are_ordered() {
        let c = ChunkerParams::default();
        assert!(c.min_size < c.avg_size && c.avg_size < c.max_size);
    }

    #[test]
    fn a_changed_field_is_an_integrity_error_not_a_wrong_passphrase() {
        let (c, master) = made("p");
        let altered = StoreConfig {
            pack_size: c.pack_size * 2,
            ..c.clone()
        };
        assert!(integrity(altered.unlock("p").unwrap_err()).contains("fields were changed"));
        assert!(integrity(altered.verify_mac(&master).unwrap_err()).contains("damaged"));
        let mut chunker = c.clone();
        chunker.chunker.max_size += 1;
        assert!(chunker.unlock("p").is_err());
        // A wrong passphrase is still just that, since the mac needs the key to check.
        assert_eq!(altered.unlock("wrong").unwrap(), None);
    }

    #[test]
    fn a_damaged_master_key_is_told_from_a_wrong_passphrase() {
        let (c, _) = made("p");
        let mut flipped = c.clone();
        let last = if flipped.master_key.ends_with('0') {
            "1"
        } else {
            "0"
        };
        flipped.master_key.pop();
        flipped.master_key.push_str(last);
        assert!(integrity(flipped.unlock("p").unwrap_err()).contains("does not match its check"));
        let mut not_hex = c.clone();
        not_hex.master_key = "zz".into();
        assert!(integrity(not_hex.unlock("p").unwrap_err()).contains("not hex"));
    }

    #[test]
    fn old_configs_without_check_or_mac_still_unlock() {
        let (c, master) = made("p");
        let old = StoreConfig {
            master_key_check: None,
            mac: None,
            ..c
        };
        assert_eq!(old.unlock("p").unwrap(), Some(master));
        assert_eq!(old.unlock("q").unwrap(), None);
        assert!(old.verify_mac(&[0u8; 32]).is_ok(), "nothing to verify");
    }

    #[test]
    fn verify_mac_needs_the_right_master_key() {
        let (c, master) = made("p");
        assert!(c.verify_mac(&master).is_ok());
        integrity(c.verify_mac(&[0u8; 32]).unwrap_err());
    }

    #[test]
    fn without_own_key_keeps_a_valid_mac_and_never_unlocks() {
        let (c, master) = made("p");
        let keyless = c.without_own_key(&master).unwrap();
        assert!(!keyless.has_own_key());
        assert!(keyless.master_key_check.is_none());
        assert!(keyless.verify_mac(&master).is_ok());
        assert_ne!(keyless.mac, c.mac);
        assert_eq!(keyless.unlock("p").unwrap(), None);
    }

    #[test]
    fn json_round_trips_and_omits_absent_fields() {
        let (c, master) = made("p");
        let text = serde_json::to_string(&c).unwrap();
        let back: StoreConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back.unlock("p").unwrap(), Some(master), "the mac survives");
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        let old = StoreConfig {
            master_key_check: None,
            mac: None,
            ..c
        };
        let text = serde_json::to_string(&old).unwrap();
        assert!(!text.contains("master_key_check") && !text.contains("\"mac\""));
        let back: StoreConfig = serde_json::from_str(&text).unwrap();
        assert!(back.mac.is_none() && back.master_key_check.is_none());
    }

    #[test]
    fn derive_kek_is_deterministic_and_depends_on_passphrase_and_salt() {
        let (c, _) = made("p");
        let k1 = derive_kek("p", &c.kdf).unwrap();
        assert_eq!(k1, derive_kek("p", &c.kdf).unwrap());
        assert_ne!(k1, derive_kek("q", &c.kdf).unwrap());
        let other_salt = KdfParams {
            salt: "00".repeat(16),
            ..c.kdf.clone()
        };
        assert_ne!(k1, derive_kek("p", &other_salt).unwrap());
    }

    #[test]
    fn derive_kek_refuses_unknown_or_bad_parameters() {
        let (c, _) = made("p");
        let e = derive_kek(
            "p",
            &KdfParams {
                algorithm: "scrypt".into(),
                ..c.kdf.clone()
            },
        );
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("unsupported KDF 'scrypt'"));
        let e = derive_kek(
            "p",
            &KdfParams {
                salt: "xyz".into(),
                ..c.kdf.clone()
            },
        );
        assert!(e.unwrap_err().to_string().contains("salt is not hex"));
        let e = derive_kek(
            "p",
            &KdfParams {
                memory_kib: 0,
                ..c.kdf.clone()
            },
        );
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("bad Argon2id parameters"));
        let e = derive_kek(
            "p",
            &KdfParams {
                iterations: 0,
                ..c.kdf.clone()
            },
        );
        assert!(e.is_err());
    }

    #[test]
    fn a_config_with_an_unsupported_kdf_fails_to_unlock() {
        let (c, _) = made("p");
        let odd = StoreConfig {
            kdf: KdfParams {
                algorithm: "pbkdf2".into(),
                ..c.kdf.clone()
            },
            ..c
        };
        assert!(odd.unlock("p").is_err());
    }
}
