//! Several passphrases for one store. The config holds the first key (the master key wrapped
//! under the creating passphrase); `keys/<id>` objects hold more, each wrapping the same master
//! key under its own Argon2id-derived key. FORMAT.md, "Keys".

use anyhow::Result;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::bounds::SMALL_OBJECT;
use super::config::{derive_kek, KdfParams, StoreConfig};
use super::crypto::{random_bytes, unwrap_key, wrap_key};
use super::id::Id;
use super::{Repo, CONFIG_KEY};
use crate::error::KlosetError;

const KEYS: &str = "keys";
/// How the config's own key is named in `key list` and `key rm`.
pub const CONFIG_KEY_NAME: &str = "config";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub created: DateTime<Utc>,
    pub host: String,
    pub user: String,
    pub kdf: KdfParams,
    /// Hex of `nonce || AES-256-GCM(kek, master key) || tag`, the store id as AAD.
    pub master_key: String,
}

/// Which key opened the store: `config`, or the 64-hex id of a `keys/` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyName(pub String);

#[derive(Debug, Serialize)]
pub struct KeyInfo {
    pub name: String,
    pub created: DateTime<Utc>,
    pub host: String,
    pub user: String,
    pub in_use: bool,
}

/// Tries the config's key, then each key object. None: no key takes this passphrase.
pub(super) async fn unlock(
    backend: &Backend,
    config: &StoreConfig,
    passphrase: &str,
) -> Result<Option<([u8; 32], KeyName)>> {
    if config.has_own_key() {
        if let Some(master) = config.unlock(passphrase)? {
            return Ok(Some((master, KeyName(CONFIG_KEY_NAME.into()))));
        }
    }
    for (key, _) in backend.list(KEYS).await? {
        let Some(file) = read_key(backend, &key).await? else {
            continue;
        };
        let kek = derive_kek(passphrase, &file.kdf)?;
        let Ok(wrapped) = hex::decode(&file.master_key) else {
            continue;
        };
        if let Some(master) = unwrap_key(&kek, &config.id.0, &wrapped) {
            config.verify_mac(&master)?;
            let name = key.rsplit('/').next().unwrap_or_default().to_string();
            return Ok(Some((master, KeyName(name))));
        }
    }
    Ok(None)
}

/// A key object that does not parse, or is larger than any key object, is skipped: it
/// cannot open the store anyway.
async fn read_key(backend: &Backend, key: &str) -> Result<Option<KeyFile>> {
    let raw = match backend.get_bounded(key, key, SMALL_OBJECT).await {
        Err(e) if super::is_damage(&e) => return Ok(None),
        other => other?,
    };
    Ok(raw.and_then(|raw| parse_key_file(&raw)))
}

/// A key object's bytes parsed (what the fuzz targets call).
pub fn parse_key_file(raw: &[u8]) -> Option<KeyFile> {
    serde_json::from_slice(raw).ok()
}

impl Repo {
    pub fn key_in_use(&self) -> &KeyName {
        &self.key_in_use
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        if self.config.has_own_key() {
            out.push(KeyInfo {
                name: CONFIG_KEY_NAME.into(),
                created: self.config.created,
                host: String::new(),
                user: String::new(),
                in_use: self.key_in_use.0 == CONFIG_KEY_NAME,
            });
        }
        for (key, _) in self.backend.list(KEYS).await? {
            if let Some(file) = read_key(&self.backend, &key).await? {
                let name = key.rsplit('/').next().unwrap_or_default().to_string();
                out.push(KeyInfo {
                    in_use: self.key_in_use.0 == name,
                    name,
                    created: file.created,
                    host: file.host,
                    user: file.user,
                });
            }
        }
        Ok(out)
    }

    /// Adds a passphrase, with the config's KDF cost and a fresh salt. Returns the key's name.
    pub async fn add_key(&self, passphrase: &str) -> Result<String> {
        let kdf = KdfParams {
            salt: hex::encode(random_bytes::<16>()),
            ..self.config.kdf.clone()
        };
        let kek = derive_kek(passphrase, &kdf)?;
        let file = KeyFile {
            created: Utc::now(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            user: std::env::var("USER").unwrap_or_default(),
            kdf,
            master_key: hex::encode(wrap_key(&kek, &self.config.id.0, &self.master)),
        };
        let bytes = serde_json::to_vec_pretty(&file)?;
        let name = Id::of_bytes(&bytes).hex();
        self.backend
            .put(&format!("{KEYS}/{name}"), Bytes::from(bytes))
            .await?;
        Ok(name)
    }

    /// Removes a key by name or unique prefix. Never the last one; the one in use only with
    /// `force` (after another was added: `key passwd`).
    pub async fn remove_key(&mut self, prefix: &str, force: bool) -> Result<String> {
        let keys = self.list_keys().await?;
        let matching: Vec<&KeyInfo> = keys.iter().filter(|k| k.name.starts_with(prefix)).collect();
        let key = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(KlosetError::Usage(format!(
                    "no key matches '{prefix}': run 'kloset key list'"
                ))
                .into())
            }
            _ => {
                return Err(KlosetError::Usage(format!(
                    "'{prefix}' matches several keys: give more of the name"
                ))
                .into())
            }
        };
        if keys.len() == 1 {
            return Err(KlosetError::Usage(
                "this is the store's only key: add another first ('kloset key add')".into(),
            )
            .into());
        }
        if key.in_use && !force {
            return Err(KlosetError::Usage(
                "this is the key in use: pass --force to remove it (or use 'kloset key passwd')"
                    .into(),
            )
            .into());
        }
        if key.name == CONFIG_KEY_NAME {
            // The config is rewritten without its key; its mac still covers every field.
            let config = self.config.without_own_key(&self.master)?;
            self.backend
                .put(CONFIG_KEY, Bytes::from(serde_json::to_vec_pretty(&config)?))
                .await?;
            self.config = config;
        } else {
            self.backend.delete(&format!("{KEYS}/{}", key.name)).await?;
        }
        Ok(key.name.clone())
    }
}
