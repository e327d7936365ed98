//! What S3 protection asks of the store: packs frozen in an archive storage class (named, or
//! thawed, before a restore reads them) and Object Lock retention (what prune may not delete,
//! and what it keeps retained).

use std::collections::HashSet;

use anyhow::Result;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use super::{IndexedRepo, Repo};
use crate::error::KlosetError;

/// HEAD and retention requests in flight.
const LOCK_CONCURRENCY: usize = 16;

impl Repo {
    /// Object Lock: of these keys, the ones still under retention (never to be deleted).
    pub async fn still_retained(&self, keys: &[String]) -> Result<HashSet<String>> {
        let Some(lock) = &self.backend.lock else {
            return Ok(HashSet::new());
        };
        let now = self.now();
        let until: Vec<(String, Option<DateTime<Utc>>)> =
            futures::stream::iter(keys)
                .map(|k| async move {
                    Ok::<_, anyhow::Error>((k.clone(), lock.retained_until(k).await?))
                })
                .buffer_unordered(LOCK_CONCURRENCY)
                .try_collect()
                .await?;
        Ok(until
            .into_iter()
            .filter(|(_, u)| u.is_some_and(|u| u > now))
            .map(|(k, _)| k)
            .collect())
    }

    /// Object Lock: objects still in use whose retention has less than half its period left
    /// are retained for a whole period again. Returns how many were extended.
    pub async fn extend_retention(&self, keys: &[String]) -> Result<usize> {
        let Some(lock) = &self.backend.lock else {
            return Ok(0);
        };
        let period = chrono::Duration::days(lock.days() as i64);
        let now = self.now();
        let extended: Vec<bool> = futures::stream::iter(keys)
            .map(|k| async move {
                let until = lock.retained_until(k).await?;
                if until.is_some_and(|u| u > now + period / 2) {
                    return Ok::<_, anyhow::Error>(false);
                }
                lock.extend(k, now + period).await?;
                Ok(true)
            })
            .buffer_unordered(LOCK_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(extended.into_iter().filter(|e| *e).count())
    }

    /// Every object that holds the store's data or opens it: what Object Lock protects.
    pub async fn protected_keys(&self) -> Result<Vec<String>> {
        let mut keys = vec![super::CONFIG_KEY.to_string()];
        for prefix in ["keys", "index", "snapshots", "dicts"] {
            keys.extend(self.backend.list(prefix).await?.into_iter().map(|(k, _)| k));
        }
        Ok(keys)
    }

    pub fn has_cold_storage(&self) -> bool {
        self.backend.cold.is_some()
    }

    pub fn backend_has_lock(&self) -> bool {
        self.backend.lock.is_some()
    }
}

impl IndexedRepo {
    /// Before data packs are read: packs in an archive storage class are thawed (`thaw`) or
    /// named in one error, instead of failing one read at a time.
    pub async fn ensure_readable(&self, packs: &[u32], thaw: bool) -> Result<()> {
        let Some(cold) = &self.backend.cold else {
            return Ok(());
        };
        let keys: Vec<String> = packs.iter().map(|p| self.pack_key_of(*p)).collect();
        let frozen = cold.frozen(&keys).await?;
        if frozen.is_empty() {
            return Ok(());
        }
        let frozen_keys: Vec<String> = frozen.iter().map(|(k, _)| k.clone()).collect();
        if thaw {
            let poll = std::env::var("KLOSET_THAW_POLL_SECS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(60);
            return cold
                .thaw(&frozen_keys, std::time::Duration::from_secs(poll))
                .await;
        }
        let shown: Vec<&str> = frozen_keys.iter().take(3).map(String::as_str).collect();
        Err(KlosetError::Frozen {
            count: frozen.len(),
            class: frozen[0].1.clone(),
            shown: shown.join(", "),
        }
        .into())
    }
}
