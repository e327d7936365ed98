//! Listing, finding and opening snapshots: a snapshot that does not open is listed as
//! damaged and never hides the others.

use anyhow::Result;
use futures::{stream, StreamExt};

use super::bounds;
use super::crypto::Keys;
use super::id::Id;
use super::load::{id_of_key, is_damage};
use super::snapshot::Snapshot;
use super::{Repo, META_CONCURRENCY, SNAPSHOT_AAD};
use crate::error::KlosetError;

pub struct SnapshotList {
    /// Oldest first.
    pub good: Vec<(Id, Snapshot)>,
    pub damaged: Vec<(Id, String)>,
}

impl Repo {
    pub async fn snapshot_ids(&self) -> Result<Vec<Id>> {
        Ok(self
            .backend
            .list("snapshots")
            .await?
            .iter()
            .filter_map(|(k, _)| id_of_key(k))
            .collect())
    }

    pub async fn load_snapshot(&self, id: &Id) -> Result<Snapshot> {
        let raw = self
            .get_immutable("snapshots", &format!("snapshots/{}", id.hex()))
            .await?;
        decode_snapshot(&self.keys, id, &raw)
    }

    /// Every snapshot that opens, oldest first, and those that do not.
    pub async fn snapshot_list(&self) -> Result<SnapshotList> {
        let ids = self.snapshot_ids().await?;
        let loaded: Vec<(Id, Result<Snapshot>)> = stream::iter(ids)
            .map(|id| async move { (id, self.load_snapshot(&id).await) })
            .buffer_unordered(META_CONCURRENCY)
            .collect()
            .await;
        let mut list = SnapshotList {
            good: Vec::new(),
            damaged: Vec::new(),
        };
        for (id, s) in loaded {
            match s {
                Ok(s) => list.good.push((id, s)),
                Err(e) if is_damage(&e) => list.damaged.push((id, format!("{e:#}"))),
                // Removed by a forget or rm since the listing: it is simply gone.
                Err(e)
                    if matches!(
                        e.downcast_ref::<KlosetError>(),
                        Some(KlosetError::UnknownSnapshot(_))
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        list.good
            .sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        list.damaged.sort_by_key(|d| d.0);
        Ok(list)
    }

    /// Snapshot ids with the server's time of each object.
    pub async fn snapshot_ids_with_time(&self) -> Result<Vec<(Id, chrono::DateTime<chrono::Utc>)>> {
        Ok(self
            .backend
            .list_with_time("snapshots")
            .await?
            .into_iter()
            .filter_map(|(k, _, at)| Some((id_of_key(&k)?, at)))
            .collect())
    }

    /// Removes a snapshot object; the blobs it referenced stay until a prune.
    pub async fn delete_snapshot(&self, id: &Id) -> Result<()> {
        self.backend
            .delete(&format!("snapshots/{}", id.hex()))
            .await
    }

    /// Every snapshot that opens, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<(Id, Snapshot)>> {
        Ok(self.snapshot_list().await?.good)
    }

    /// A snapshot named by a unique id prefix, or `latest` (the newest that opens).
    pub async fn find_snapshot(&self, prefix: &str) -> Result<(Id, Snapshot)> {
        if prefix == "latest" {
            return self
                .snapshots()
                .await?
                .pop()
                .ok_or_else(|| KlosetError::UnknownSnapshot(prefix.to_string()).into());
        }
        let lower = prefix.to_ascii_lowercase();
        let matches: Vec<Id> = self
            .snapshot_ids()
            .await?
            .into_iter()
            .filter(|id| !lower.is_empty() && id.hex().starts_with(&lower))
            .collect();
        match matches.len() {
            0 => Err(KlosetError::UnknownSnapshot(prefix.to_string()).into()),
            1 => Ok((matches[0], self.load_snapshot(&matches[0]).await?)),
            n => Err(KlosetError::AmbiguousSnapshot(prefix.to_string(), n).into()),
        }
    }
}

/// A snapshot's sealed bytes opened and parsed; any fault in them is damage.
pub fn decode_snapshot(keys: &Keys, id: &Id, raw: &[u8]) -> Result<Snapshot> {
    let damaged =
        |e: String| KlosetError::Integrity(format!("snapshot {} is damaged: {e}", id.short()));
    let limit = bounds::metadata_plaintext(raw.len(), bounds::SNAPSHOT);
    let json = keys
        .open_within(SNAPSHOT_AAD, raw, limit)
        .map_err(|e| damaged(e.to_string()))?;
    Ok(serde_json::from_slice(&json).map_err(|e| damaged(e.to_string()))?)
}
