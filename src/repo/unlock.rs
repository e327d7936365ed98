//! Opening a store's keys: which key takes the passphrase, whether the config may be trusted
//! with it, and a legacy key bound to the store's parameters on first use. FORMAT.md, "Bound
//! parameters".

use anyhow::Result;

use super::backend::Backend;
use super::config::{missing_mac, KeyStyle, MasterKey, StoreConfig};
use super::config_rewrite;
use super::keys::{self, Found, KeyName, CONFIG_KEY_NAME};
use super::trust::Trust;
use crate::error::KlosetError;

pub(super) struct Opened {
    pub config: StoreConfig,
    pub master: MasterKey,
    pub key: KeyName,
}

/// The config must be range-checked (`params::check_config`) before this runs.
pub(super) async fn open_keys(
    backend: &Backend,
    config: StoreConfig,
    passphrase: &str,
) -> Result<Opened> {
    let trust = Trust::for_store(&config.id);
    let seen = trust.seen_authenticated();
    // Before any Argon2: such a config is refused whichever key would take the passphrase.
    if config.mac.is_none() && seen {
        return Err(missing_mac(
            "this host opened the store with an authenticated config before",
        ));
    }
    let found = keys::unlock(backend, &config, passphrase, trust.last_key().as_deref())
        .await?
        .ok_or_else(|| KlosetError::WrongPassphrase(backend.display.clone()))?;
    config.accept(&found.unwrapped.master, found.unwrapped.style, seen)?;
    let (config, key) = match found.unwrapped.style {
        KeyStyle::Bound => (config, found.name.clone()),
        KeyStyle::Legacy => match bind(backend, &config, &found).await {
            Ok(bound) => bound,
            // A store this host may not write (read-only credentials) still opens as before.
            Err(e) => {
                eprintln!(
                    "warning: could not bind the key in use to the store's parameters ({e:#}); it opens as before"
                );
                (config, found.name.clone())
            }
        },
    };
    if config.mac.is_some() {
        trust.remember(&key.0);
    }
    Ok(Opened {
        config,
        master: found.unwrapped.master,
        key,
    })
}

/// Rewraps the legacy key in use under the bound parameters (the config gets its MAC too
/// when it had none). Returns the config and the key's name as they now are.
async fn bind(
    backend: &Backend,
    config: &StoreConfig,
    found: &Found,
) -> Result<(StoreConfig, KeyName)> {
    let u = &found.unwrapped;
    let Some(file) = &found.file else {
        debug_assert_eq!(found.name.0, CONFIG_KEY_NAME);
        let bound = config.with_own_key_bound(&u.kek, &u.master)?;
        config_rewrite::replace(backend, config, &bound, &u.master).await?;
        return Ok((bound, found.name.clone()));
    };
    let config = match config.mac {
        Some(_) => config.clone(),
        None => {
            let with_mac = config.with_mac(&u.master)?;
            config_rewrite::replace(backend, config, &with_mac, &u.master).await?;
            with_mac
        }
    };
    let name = keys::rebind(backend, &config, &found.name, file, u).await?;
    Ok((config, name))
}
