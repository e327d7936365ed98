//! The one object kloset ever rewrites: `config` (`key rm config`). It is replaced through a
//! new object (a durable put: new file, fsync, rename, fsync of the directory on a local
//! store; one atomic PUT on S3), with the previous config kept as `config.previous` until the
//! new one has been read back and verified under the master key. A store whose `config` is
//! missing or does not verify opens with a `config.previous` that does. FORMAT.md, "config".

use anyhow::{Context, Result};
use bytes::Bytes;

use super::backend::Backend;
use super::config::StoreConfig;
use super::{Repo, CONFIG_KEY};
use crate::error::KlosetError;

/// The config as it was before a rewrite, while the rewrite is under way.
pub const CONFIG_PREVIOUS_KEY: &str = "config.previous";

/// Parses a config object (not yet verified: that needs the master key).
pub fn parse(backend: &Backend, key: &str, raw: &[u8]) -> Result<StoreConfig> {
    serde_json::from_slice(raw)
        .with_context(|| format!("store {}: {key} is not valid", backend.display))
}

/// The kept previous config, when there is one that parses.
pub async fn previous(backend: &Backend) -> Result<Option<StoreConfig>> {
    Ok(Repo::read_config_object(backend, CONFIG_PREVIOUS_KEY)
        .await?
        .and_then(|parsed| parsed.ok()))
}

/// Tells the user which config opened the store when it was not `config` itself.
pub fn warn_opened_with_previous(backend: &Backend, why: &str) {
    eprintln!(
        "warning: store {}: its config {why}; opened with {CONFIG_PREVIOUS_KEY}, kept from an unfinished config rewrite: run 'kloset check', then copy {CONFIG_PREVIOUS_KEY} over config",
        backend.display
    );
}

impl Repo {
    /// Before a snapshot with key histories is written: the config says so, and a kloset
    /// that would not count the histories' blobs refuses the store rather than pruning them.
    pub async fn allow_histories(&mut self) -> Result<()> {
        if self.config.histories {
            // A copy an unfinished rewrite kept would let such a kloset in: it goes.
            if previous(&self.backend).await?.is_some_and(|p| !p.histories) {
                self.backend.delete(CONFIG_PREVIOUS_KEY).await?;
            }
            return Ok(());
        }
        let new = StoreConfig {
            histories: true,
            ..self.config.clone()
        }
        .with_mac(&self.master)?;
        self.rewrite_config(new).await
    }

    /// Replaces the config with `new` (see `replace`).
    pub(super) async fn rewrite_config(&mut self, new: StoreConfig) -> Result<()> {
        replace(&self.backend, &self.config, &new, &self.master).await?;
        self.config = new;
        Ok(())
    }
}

/// Replaces the config `current` with `new`, keeping `current` as `config.previous` until
/// `new` reads back whole and verifies under the master key; then removes the copy. The one
/// way the config is ever rewritten (`key rm config`, binding a legacy key).
pub(super) async fn replace(
    backend: &Backend,
    current: &StoreConfig,
    new: &StoreConfig,
    master: &[u8; 32],
) -> Result<()> {
    // A rewrite from a config read before another host marked the store as holding key
    // histories keeps the mark.
    let stored = Repo::read_config_object(backend, CONFIG_KEY)
        .await?
        .and_then(|parsed| parsed.ok());
    let kept;
    let new = match stored {
        Some(s)
            if s.histories && s.id == new.id && !new.histories && s.verify_mac(master).is_ok() =>
        {
            kept = StoreConfig {
                histories: true,
                ..new.clone()
            }
            .with_mac(master)?;
            &kept
        }
        _ => new,
    };
    let current = Bytes::from(serde_json::to_vec_pretty(current)?);
    backend.put(CONFIG_PREVIOUS_KEY, current.clone()).await?;
    crate::kill_point::here("config:previous-kept");
    let bytes = Bytes::from(serde_json::to_vec_pretty(new)?);
    backend.put(CONFIG_KEY, bytes.clone()).await?;
    crate::kill_point::here("config:rewritten");
    let back = backend.get(CONFIG_KEY).await?;
    let verified = back.as_ref().is_some_and(|raw| {
        *raw == bytes
            && parse(backend, CONFIG_KEY, raw)
                .is_ok_and(|c| c.id == new.id && c.mac.is_some() && c.verify_mac(master).is_ok())
    });
    if !verified {
        // Another host's rewrite landed meanwhile (it verifies under the same master key):
        // it stands, and this one is reported, never undone by putting the old one back.
        let theirs = back
            .as_ref()
            .and_then(|raw| parse(backend, CONFIG_KEY, raw).ok())
            .is_some_and(|c| c.id == new.id && c.mac.is_some() && c.verify_mac(master).is_ok());
        if theirs {
            return Err(KlosetError::Integrity(format!(
                "store {}: another host rewrote the config at the same time: run the command again",
                backend.display
            ))
            .into());
        }
        // What was there before is put back; the copy stays until that reads back too.
        backend.put(CONFIG_KEY, current.clone()).await?;
        if backend.get(CONFIG_KEY).await?.as_ref() == Some(&current) {
            backend.delete(CONFIG_PREVIOUS_KEY).await?;
        }
        return Err(KlosetError::Integrity(format!(
            "store {}: the rewritten config did not read back as written, so the previous one was put back: check the store's disk or server and run the command again",
            backend.display
        ))
        .into());
    }
    backend.delete(CONFIG_PREVIOUS_KEY).await?;
    Ok(())
}
