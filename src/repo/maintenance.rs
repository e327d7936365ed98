//! What prune needs of the store: packs marked for deletion ("retiring"), the prune lock, and
//! the deletes. The rules these follow are in FORMAT.md ("Prune").

use std::collections::HashMap;

use anyhow::Result;
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};

use super::crypto::random_bytes;
use super::id::Id;
use super::index::{pack_key, PackEntry};
use super::Repo;

const RETIRING: &str = "retiring";
const LOCKS: &str = "locks";
/// A prune lock older than this was left by a prune that died (a live one renews it).
pub const LOCK_LIFETIME_MS: i64 = 30 * 60 * 1000;

impl Repo {
    /// `retiring/<pack id>.<ms since epoch>` markers, read from the listing alone.
    pub(super) async fn retiring_markers(&self) -> Result<HashMap<Id, DateTime<Utc>>> {
        Ok(self
            .backend
            .list(RETIRING)
            .await?
            .iter()
            .filter_map(|(key, _)| parse_marker(key))
            .collect())
    }

    /// Packs marked for deletion, with when.
    pub fn retiring(&self) -> &HashMap<Id, DateTime<Utc>> {
        &self.retiring
    }

    pub async fn mark_retiring(&self, pack: &Id, at: DateTime<Utc>) -> Result<()> {
        let key = marker_key(pack, at);
        self.backend.put(&key, Bytes::new()).await
    }

    /// A marked pack that a snapshot needs after all: it stays.
    pub async fn unmark_retiring(&self, pack: &Id) -> Result<()> {
        if let Some(at) = self.retiring.get(pack) {
            self.backend.delete(&marker_key(pack, *at)).await?;
        }
        Ok(())
    }

    /// Deletes a pack and then its marker (a marker without its pack is ignored).
    pub async fn delete_pack(&self, pack: &Id) -> Result<()> {
        self.backend.delete(&pack_key(pack)).await?;
        self.unmark_retiring(pack).await
    }

    /// Before a backup commits: every pack it refers to is still stored. Only a prune that ran
    /// its delete delay out during this backup could have removed one; committing would leave
    /// a snapshot pointing at deleted data.
    pub async fn verify_packs_present(&self, packs: &[u32]) -> Result<()> {
        if packs.is_empty() {
            return Ok(());
        }
        let stored: std::collections::HashSet<Id> = self
            .backend
            .list("packs")
            .await?
            .iter()
            .filter_map(|(k, _)| super::load::id_of_key(k))
            .collect();
        let gone = packs
            .iter()
            .filter(|&&n| !stored.contains(&self.index.pack_id(n)))
            .count();
        if gone > 0 {
            return Err(crate::error::KlosetError::Integrity(format!(
                "{gone} packs this backup refers to were deleted by a prune while it ran (it ran longer than prune's delete delay): nothing was committed; run the backup again"
            ))
            .into());
        }
        Ok(())
    }

    /// The index files the loaded index came from.
    /// Packs the given index file names.
    pub fn packs_named_by(&self, index_key: &str) -> &[Id] {
        self.index_packs.get(index_key).map_or(&[], Vec::as_slice)
    }

    pub fn index_keys(&self) -> &[String] {
        &self.index_keys
    }

    /// Each indexed pack with the blobs the index reads from it.
    pub fn pack_entries(&self) -> Vec<PackEntry> {
        self.index.pack_entries()
    }

    /// Stored packs with their size and upload time.
    pub async fn stored_packs_with_time(&self) -> Result<Vec<(Id, u64, DateTime<Utc>)>> {
        Ok(self
            .backend
            .list_with_time("packs")
            .await?
            .into_iter()
            .filter_map(|(k, size, t)| Some((super::load::id_of_key(&k)?, size, t)))
            .collect())
    }

    /// Takes the prune lock: writes this prune's lock, then gives way to any other live one.
    /// Two prunes starting together may both give way; they never both go on.
    pub async fn lock_prune(&self) -> Result<Option<PruneLock>> {
        let lock = PruneLock::write(self).await?;
        let now = self.now().timestamp_millis();
        let others = self.backend.list(LOCKS).await?;
        for (key, _) in &others {
            if key == &lock.key || lock_time(key).is_none_or(|t| now - t >= LOCK_LIFETIME_MS) {
                continue;
            }
            // A prune of this host that was killed: its process is gone, its lock with it.
            let owner = self.backend.get(key).await?;
            let dead_here = owner
                .and_then(|b| serde_json::from_slice::<LockOwner>(&b).ok())
                .is_some_and(|o| {
                    o.host == gethostname::gethostname().to_string_lossy().into_owned()
                        && !pid_alive(o.pid)
                });
            if dead_here {
                self.backend.delete(key).await?;
                continue;
            }
            let _ = self.backend.delete(&lock.key).await;
            return Ok(None);
        }
        Ok(Some(lock))
    }
}

pub struct PruneLock {
    key: String,
}

impl PruneLock {
    async fn write(repo: &Repo) -> Result<PruneLock> {
        let now = repo.now().timestamp_millis();
        let key = format!(
            "{LOCKS}/prune-{now:016}-{}",
            hex::encode(random_bytes::<8>())
        );
        let owner = LockOwner {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
        };
        repo.backend
            .put(&key, Bytes::from(serde_json::to_vec(&owner)?))
            .await?;
        Ok(PruneLock { key })
    }

    /// A long prune renews its lock between steps, so others never take it for dead.
    pub async fn renew(&mut self, repo: &Repo) -> Result<()> {
        let fresh = PruneLock::write(repo).await?;
        let old = std::mem::replace(self, fresh);
        repo.backend.delete(&old.key).await
    }

    pub async fn release(self, repo: &Repo) -> Result<()> {
        repo.backend.delete(&self.key).await
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LockOwner {
    host: String,
    pid: u32,
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn marker_key(pack: &Id, at: DateTime<Utc>) -> String {
    format!("{RETIRING}/{}.{}", pack.hex(), at.timestamp_millis())
}

fn parse_marker(key: &str) -> Option<(Id, DateTime<Utc>)> {
    let name = key.rsplit('/').next()?;
    let (hex, ms) = name.split_once('.')?;
    let id = Id::parse(hex).ok()?;
    let at = Utc.timestamp_millis_opt(ms.parse().ok()?).single()?;
    Some((id, at))
}

fn lock_time(key: &str) -> Option<i64> {
    key.rsplit('/')
        .next()?
        .strip_prefix("prune-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_and_lock_names_round_trip() {
        let id = Id([7u8; 32]);
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        assert_eq!(parse_marker(&marker_key(&id, at)), Some((id, at)));
        assert_eq!(parse_marker("retiring/zz.1"), None);
        assert_eq!(
            lock_time("locks/prune-0001700000000123-00ff"),
            Some(1_700_000_000_123)
        );
    }
}
