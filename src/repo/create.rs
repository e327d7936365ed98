//! Making a store, exclusively on every server. The config is written with a create-only put;
//! servers that ignore `If-None-Match` (Garage does) would let two racing creates both
//! "succeed", so a remote create first announces itself with a marker object and gives up when
//! it sees another recent one, and looks for a config only after that: two racing creates may
//! both give up, never both succeed. The config is then read back, so the winner is the one
//! whose config is there.

use anyhow::Result;
use bytes::Bytes;

use super::backend::Backend;
use super::config::{KdfCost, SizePrivacy, StoreConfig, Template};
use super::crypto::random_bytes;
use super::{Repo, CONFIG_KEY};
use crate::error::KlosetError;

const MARKERS: &str = "creating";
/// Markers older than this are left by creates that died: ignored.
const MARKER_LIFETIME_MS: i64 = 120_000;

impl Repo {
    pub async fn create(
        backend: &Backend,
        passphrase: &str,
        cost: KdfCost,
        pack_size: u64,
        like: Option<&Template>,
    ) -> Result<StoreConfig> {
        Self::create_with(
            backend,
            passphrase,
            cost,
            pack_size,
            like,
            SizePrivacy::default(),
        )
        .await
    }

    /// `create`, with the size trade-offs the store keeps for good.
    pub async fn create_with(
        backend: &Backend,
        passphrase: &str,
        cost: KdfCost,
        pack_size: u64,
        like: Option<&Template>,
        size_privacy: SizePrivacy,
    ) -> Result<StoreConfig> {
        // Asked by its metadata: a config is never read to learn that it is there.
        if backend.modified(CONFIG_KEY).await?.is_some() {
            return Err(KlosetError::AlreadyInitialised(backend.display.clone()).into());
        }
        if Self::holds_data(backend).await? {
            return Err(KlosetError::ConfigLost(backend.display.clone()).into());
        }
        let (config, master) = StoreConfig::new(passphrase, cost, pack_size, like)?;
        let config = config.with_size_privacy(size_privacy, &master)?;
        let marker = if backend.remote {
            Some(announce(backend).await?)
        } else {
            None
        };
        // After the marker: a create that finished before ours looked is seen here, one that
        // had not yet written its config saw our marker and gave up.
        let bytes = serde_json::to_vec_pretty(&config)?;
        let written = match backend.modified(CONFIG_KEY).await {
            Ok(Some(_)) => Ok(false),
            Ok(None) => backend.put_new(CONFIG_KEY, Bytes::from(bytes)).await,
            Err(e) => Err(e),
        };
        let ours = match written {
            Ok(true) => Self::read_config(backend).await.map(|c| c.id == config.id),
            Ok(false) => Ok(false),
            Err(e) => Err(e),
        };
        if let Some(m) = &marker {
            let _ = backend.delete(m).await;
        }
        match ours? {
            true => Ok(config),
            false => Err(KlosetError::AlreadyInitialised(backend.display.clone()).into()),
        }
    }

    /// Index files or snapshots are there: a store whose config was lost, not an empty place.
    pub async fn holds_data(backend: &Backend) -> Result<bool> {
        for prefix in ["snapshots", "index"] {
            if !backend.list(prefix).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Writes this create's marker and checks that no other recent one is there.
async fn announce(backend: &Backend) -> Result<String> {
    let now = chrono::Utc::now().timestamp_millis();
    let key = format!("{MARKERS}/{now:016}-{}", hex::encode(random_bytes::<8>()));
    backend.put(&key, Bytes::new()).await?;
    let others = backend
        .list(MARKERS)
        .await?
        .into_iter()
        .filter(|(k, _)| *k != key)
        .filter(|(k, _)| {
            let name = k.rsplit('/').next().unwrap_or_default();
            let at: i64 = name
                .split('-')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            (now - at).abs() < MARKER_LIFETIME_MS
        })
        .count();
    if others > 0 {
        let _ = backend.delete(&key).await;
        return Err(KlosetError::CreateRace(backend.display.clone()).into());
    }
    Ok(key)
}
