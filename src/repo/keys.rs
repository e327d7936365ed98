//! Several passphrases for one store. The config holds the first key (the master key wrapped
//! under the creating passphrase); `keys/<id>` objects hold more, each wrapping the same master
//! key under its own Argon2id-derived key. FORMAT.md, "More keys" and "Bound parameters".

use anyhow::Result;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::config::{
    derive_kek, passphrase_check, unwrap_master, KdfParams, KeyStyle, StoreConfig, Unwrapped,
};
use super::crypto::{random_bytes, wrap_key};
use super::id::Id;
use super::{params, Repo};
use crate::error::KlosetError;

const KEYS: &str = "keys";
/// How the config's own key is named in `key list` and `key rm`.
pub const CONFIG_KEY_NAME: &str = "config";
/// A key object this kloset writes is under 1 KiB: larger ones are never downloaded.
pub(super) const MAX_KEY_OBJECT: u64 = 64 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub created: DateTime<Utc>,
    pub host: String,
    pub user: String,
    pub kdf: KdfParams,
    /// Hex of `nonce || AES-256-GCM(kek, master key) || tag`, the bound parameters as AAD.
    pub master_key: String,
    /// As in the config: the passphrase is right, the parameters were changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_check: Option<String>,
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

/// The key that took the passphrase; `file` is None for the config's own key.
pub(super) struct Found {
    pub unwrapped: Unwrapped,
    pub name: KeyName,
    pub file: Option<KeyFile>,
}

/// A listed key object, after the checks that cost no Argon2.
enum Read {
    Usable {
        file: KeyFile,
        wrapped: Vec<u8>,
    },
    /// Not an object this kloset could have written: never tried. Why, for `check`.
    Refused(String),
    /// Removed since the listing.
    Gone,
}

/// Tries the config's key, then the key object that opened the store last on this host, then
/// the others. None: no key takes this passphrase.
pub(super) async fn unlock(
    backend: &Backend,
    config: &StoreConfig,
    passphrase: &str,
    last_key: Option<&str>,
) -> Result<Option<Found>> {
    if let Some(unwrapped) = config.unwrap_own_key(passphrase)? {
        return Ok(Some(Found {
            unwrapped,
            name: KeyName(CONFIG_KEY_NAME.into()),
            file: None,
        }));
    }
    let mut listed = backend.list(KEYS).await?;
    if let Some(last) = last_key {
        listed.sort_by_key(|(key, _)| name_of(key) != last);
    }
    let mut changed: Option<String> = None;
    for (key, size) in listed {
        let (file, wrapped) = match read_key(backend, &key, size).await? {
            Read::Usable { file, wrapped } => (file, wrapped),
            Read::Refused(why) => {
                eprintln!("warning: key object {key} {why}: skipped (see 'kloset check')");
                continue;
            }
            Read::Gone => continue,
        };
        let kek = derive_kek(passphrase, &file.kdf)?;
        if let Some((master, style)) = unwrap_master(config, &file.kdf, &kek, &wrapped) {
            return Ok(Some(Found {
                unwrapped: Unwrapped { master, kek, style },
                name: KeyName(name_of(&key).into()),
                file: Some(file),
            }));
        }
        // Told only when no other key opens: a planted copy of a real key object (its
        // master key altered) must not lock the real one out.
        if file.passphrase_check == Some(passphrase_check(&kek)) && changed.is_none() {
            changed = Some(key.clone());
        }
    }
    match changed {
        Some(key) => Err(KlosetError::Integrity(format!(
            "key object {key} takes this passphrase but does not open the store: either the store's config parameters were changed after it was made (put back a copy of the config object) or the key object was altered or planted (remove it)"
        ))
        .into()),
        None => Ok(None),
    }
}

fn name_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or_default()
}

/// Bounded, named by its hash, parsed and with KDF parameters under the caps: a planted
/// object fails here, before any Argon2 runs.
async fn read_key(backend: &Backend, key: &str, listed_size: u64) -> Result<Read> {
    if listed_size > MAX_KEY_OBJECT {
        return Ok(Read::Refused(format!(
            "is {listed_size} bytes, larger than any key object"
        )));
    }
    let Ok(id) = Id::parse(name_of(key)) else {
        return Ok(Read::Refused("is not named by a key id".into()));
    };
    let Some(raw) = backend.get_at_most(key, MAX_KEY_OBJECT).await? else {
        return Ok(Read::Gone);
    };
    Ok(check_key(&id, &raw))
}

fn check_key(id: &Id, raw: &[u8]) -> Read {
    if raw.len() as u64 > MAX_KEY_OBJECT {
        return Read::Refused("is larger than any key object".into());
    }
    if Id::of_bytes(raw) != *id {
        return Read::Refused("does not hash to its name (planted or damaged)".into());
    }
    let Ok(file) = serde_json::from_slice::<KeyFile>(raw) else {
        return Read::Refused("is not a key object".into());
    };
    if let Err(why) = params::check_kdf(&file.kdf) {
        return Read::Refused(format!("has KDF parameters {why}"));
    }
    match hex::decode(&file.master_key) {
        Ok(wrapped) => Read::Usable { file, wrapped },
        Err(_) => Read::Refused("has a master_key that is not hex".into()),
    }
}

/// Stores a key object under the hash of its bytes. Returns its name.
async fn put_key(backend: &Backend, file: &KeyFile) -> Result<String> {
    let bytes = serde_json::to_vec_pretty(file)?;
    let name = Id::of_bytes(&bytes).hex();
    backend
        .put(&format!("{KEYS}/{name}"), Bytes::from(bytes))
        .await?;
    Ok(name)
}

/// A legacy key object rewrapped under the bound parameters: the new object (same KDF and
/// salt, so the same passphrase) is read back and opened before the old one is removed.
pub(super) async fn rebind(
    backend: &Backend,
    config: &StoreConfig,
    old: &KeyName,
    file: &KeyFile,
    unwrapped: &Unwrapped,
) -> Result<KeyName> {
    let aad = params::bound_aad(config, &file.kdf);
    let file = KeyFile {
        master_key: hex::encode(wrap_key(&unwrapped.kek, &aad, &unwrapped.master)),
        passphrase_check: Some(passphrase_check(&unwrapped.kek)),
        ..file.clone()
    };
    let name = put_key(backend, &file).await?;
    let key = format!("{KEYS}/{name}");
    let raw = backend
        .get_at_most(&key, MAX_KEY_OBJECT)
        .await?
        .unwrap_or_default();
    let verified = match check_key(&Id::parse(&name)?, &raw) {
        Read::Usable { file, wrapped } => {
            unwrap_master(config, &file.kdf, &unwrapped.kek, &wrapped)
                .is_some_and(|(m, style)| style == KeyStyle::Bound && *m == *unwrapped.master)
        }
        _ => false,
    };
    if !verified {
        anyhow::bail!("the rewrapped key object {name} did not read back");
    }
    backend.delete(&format!("{KEYS}/{}", old.0)).await?;
    Ok(KeyName(name))
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
        for (key, size) in self.backend.list(KEYS).await? {
            if let Read::Usable { file, .. } = read_key(&self.backend, &key, size).await? {
                let name = name_of(&key).to_string();
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

    /// `keys/` objects no passphrase is ever tried on, with why (`check`).
    pub async fn refused_keys(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (key, size) in self.backend.list(KEYS).await? {
            if let Read::Refused(why) = read_key(&self.backend, &key, size).await? {
                out.push((key, why));
            }
        }
        Ok(out)
    }

    /// Adds a passphrase with a fresh salt, at the config's KDF cost but never below today's
    /// defaults (`params::kdf_floor`). Returns the key's name.
    pub async fn add_key(&self, passphrase: &str) -> Result<String> {
        let kdf = params::kdf_floor(&self.config.kdf, hex::encode(random_bytes::<16>()));
        let kek = derive_kek(passphrase, &kdf)?;
        let aad = params::bound_aad(&self.config, &kdf);
        let file = KeyFile {
            created: Utc::now(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            user: std::env::var("USER").unwrap_or_default(),
            master_key: hex::encode(wrap_key(&kek, &aad, &self.master)),
            passphrase_check: Some(passphrase_check(&kek)),
            kdf,
        };
        put_key(&self.backend, &file).await
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
            self.rewrite_config(config).await?;
        } else {
            self.backend.delete(&format!("{KEYS}/{}", key.name)).await?;
        }
        Ok(key.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(memory_kib: u32) -> KeyFile {
        KeyFile {
            created: Utc::now(),
            host: "h".into(),
            user: "u".into(),
            kdf: KdfParams {
                algorithm: "argon2id".into(),
                memory_kib,
                iterations: 1,
                parallelism: 1,
                salt: "00".repeat(16),
            },
            master_key: "ab".repeat(60),
            passphrase_check: None,
        }
    }

    fn refused(read: Read) -> String {
        match read {
            Read::Refused(why) => why,
            Read::Usable { .. } => panic!("usable"),
            Read::Gone => panic!("gone"),
        }
    }

    #[test]
    fn a_key_object_is_usable_only_under_its_hash_and_the_caps() {
        let raw = serde_json::to_vec_pretty(&file(8)).unwrap();
        assert!(matches!(
            check_key(&Id::of_bytes(&raw), &raw),
            Read::Usable { .. }
        ));
        let why = refused(check_key(&Id([7; 32]), &raw));
        assert!(why.contains("does not hash to its name"), "{why}");
        let huge = serde_json::to_vec_pretty(&file(u32::MAX)).unwrap();
        let why = refused(check_key(&Id::of_bytes(&huge), &huge));
        assert!(why.contains("memory_kib 4294967295"), "{why}");
        let junk = b"not json";
        assert!(refused(check_key(&Id::of_bytes(junk), junk)).contains("not a key object"));
        let big = vec![b' '; MAX_KEY_OBJECT as usize + 1];
        assert!(refused(check_key(&Id::of_bytes(&big), &big)).contains("larger"));
    }
}
