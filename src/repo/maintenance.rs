//! What prune needs of the store: packs marked for deletion ("retiring"), the prune lock, the
//! server's clock, and the deletes. The rules these follow are in FORMAT.md ("Prune"). Every
//! time compared here is the server's: `LastModified` of the objects, and "now" as the
//! `LastModified` of the lock prune itself just wrote plus the time elapsed since.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use futures::{stream, StreamExt};

use super::backend::Backend;
use super::control::Found;
use super::crypto::random_bytes;
use super::id::Id;
use super::index::{pack_key, PackEntry};
use super::{IndexedRepo, Repo};

const RETIRING: &str = "retiring";
const LOCKS: &str = "locks";
/// A prune lock not rewritten for this long was left by a prune that died.
pub const LOCK_LIFETIME: chrono::Duration = chrono::Duration::minutes(30);
/// A running prune rewrites its lock this often, from a background task.
const LOCK_RENEW_EVERY: Duration = Duration::from_secs(5 * 60);

/// A pack's marks for deletion as listed: their object keys, and the server times of the
/// newest and the oldest (`at`: every age prune measures is from the newest, so a second mark
/// never shortens the wait). A listing does not say which marks are authentic
/// (`Repo::authentic_marks` does): writers honour every mark, since a prune of an older kloset
/// deletes by marks without a MAC.
#[derive(Clone, Debug)]
pub struct Mark {
    pub keys: Vec<String>,
    pub at: DateTime<Utc>,
    pub first: DateTime<Utc>,
}

/// The marks prune may act on: only those with a valid MAC (`marks`, whose `keys` still hold
/// every mark object of the pack, so withdrawing or deleting it removes them all), and the keys
/// of those without one.
#[derive(Debug, Default)]
pub struct AuthenticMarks {
    pub marks: HashMap<Id, Mark>,
    pub unauthenticated: Vec<String>,
}

impl Repo {
    /// `retiring/<pack id>.<ms>` markers, timed by the server (`LastModified`), never by the
    /// milliseconds in the name, which are the marking host's clock.
    pub(super) async fn retiring_markers(&self) -> Result<HashMap<Id, Mark>> {
        let listed = self.backend.list_with_time(RETIRING).await?;
        Ok(collect_marks(listed))
    }

    /// Marks read anew (a prune re-checks just before deleting).
    pub async fn current_marks(&self) -> Result<HashMap<Id, Mark>> {
        self.retiring_markers().await
    }

    pub async fn mark_retiring(&self, pack: &Id, now: DateTime<Utc>) -> Result<()> {
        let key = format!("{RETIRING}/{}.{}", pack.hex(), now.timestamp_millis());
        self.put_plain_control(&key).await
    }

    /// The marks kloset wrote (a valid MAC), listed now; prune deletes by no other. Each
    /// pack's `at` and `first` are its authentic marks' times, its `keys` every mark object it
    /// has.
    pub async fn authentic_marks(&self) -> Result<AuthenticMarks> {
        let listed = self.backend.list_with_time(RETIRING).await?;
        let read: Vec<(Listed, Found)> = stream::iter(listed)
            .map(|(key, size, at)| async move {
                let found = self.read_control(&key, size).await?;
                Ok::<_, anyhow::Error>(((key, size, at), found))
            })
            .buffer_unordered(super::META_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let mut out = AuthenticMarks::default();
        let mut authentic = Vec::new();
        let mut all = Vec::new();
        for (listed, found) in read {
            match found {
                Found::Authentic(_) => authentic.push(listed.clone()),
                Found::Unauthenticated(_) => out.unauthenticated.push(listed.0.clone()),
                Found::Gone => continue,
            }
            all.push(listed);
        }
        let every = collect_marks(all);
        for (id, mut mark) in collect_marks(authentic) {
            mark.keys = every.get(&id).map_or(mark.keys, |m| m.keys.clone());
            out.marks.insert(id, mark);
        }
        out.unauthenticated.sort();
        Ok(out)
    }

    /// Removes marks without a MAC: junk, since no prune of this kloset acts on them, but they
    /// make writers save the blobs of those packs anew.
    /// Each is read again first: one this prune has since written its own mark over stays.
    pub async fn remove_marks(&self, keys: &[String]) -> Result<()> {
        for key in keys {
            if let Found::Unauthenticated(_) = self.read_control(key, 0).await? {
                self.backend.delete(key).await?;
            }
        }
        Ok(())
    }

    /// A marked pack that a snapshot needs after all: it stays. Every mark of it goes: those
    /// the index was loaded with and those in `marks` (a listing made since), without a
    /// listing per pack.
    pub async fn unmark_retiring(&self, pack: &Id, marks: &HashMap<Id, Mark>) -> Result<()> {
        let keys: HashSet<&String> = [self.retiring.get(pack), marks.get(pack)]
            .into_iter()
            .flatten()
            .flat_map(|m| &m.keys)
            .collect();
        for key in keys {
            self.backend.delete(key).await?;
        }
        Ok(())
    }

    /// Deletes a pack and then its marks (a mark without its pack is ignored).
    pub async fn delete_pack(&self, pack: &Id, marks: &HashMap<Id, Mark>) -> Result<()> {
        self.backend.delete(&pack_key(pack)).await?;
        self.unmark_retiring(pack, marks).await
    }

    /// Stored packs with their size and upload time (the server's).
    pub async fn stored_packs_with_time(&self) -> Result<Vec<(Id, u64, DateTime<Utc>)>> {
        Ok(self
            .backend
            .list_with_time("packs")
            .await?
            .into_iter()
            .filter_map(|(k, size, t)| Some((super::load::id_of_key(&k)?, size, t)))
            .collect())
    }

    /// Takes the prune lock: writes this prune's lock, then gives way to any other live one
    /// that kloset wrote. Two prunes starting together may both give way; they never both go
    /// on. The lock's own `LastModified` is the server's "now" from which every age in the
    /// prune is measured. A lock without a valid MAC is passed over (and named in
    /// `PruneLock::unauthenticated`): anyone who can write to the store could plant one.
    pub async fn lock_prune(&self) -> Result<Option<PruneLock>> {
        let mut lock = PruneLock::write(self).await?;
        let now = lock.server_now();
        for (key, size, modified) in self.backend.list_with_time(LOCKS).await? {
            if key == lock.key || modified + LOCK_LIFETIME <= now {
                continue;
            }
            let owner = match self.read_control(&key, size).await? {
                Found::Gone => continue,
                // An older kloset's live prune (its lock is plain owner JSON): giving way costs
                // at most one lock lifetime (timed by the server), running beside it could
                // break the one-prune rule the safety argument rests on.
                Found::Unauthenticated(Some(body)) if is_older_klosets_lock(&body) => {
                    eprintln!(
                        "warning: {key} is the lock of a prune by an older kloset (no MAC): waiting for it"
                    );
                    body
                }
                Found::Unauthenticated(_) => {
                    lock.unauthenticated.push(key);
                    continue;
                }
                Found::Authentic(body) => body,
            };
            // A prune of this host that was killed: its process is gone, its lock with it.
            let dead_here = serde_json::from_slice::<LockOwner>(&owner)
                .ok()
                .is_some_and(|o| o.is_dead_here());
            if dead_here {
                self.backend.delete(&key).await?;
                continue;
            }
            lock.release().await?;
            return Ok(None);
        }
        Ok(Some(lock))
    }
}

/// An object as listed: key, size, server time.
type Listed = (String, u64, DateTime<Utc>);

fn collect_marks(listed: Vec<Listed>) -> HashMap<Id, Mark> {
    let mut marks: HashMap<Id, Mark> = HashMap::new();
    for (key, _, at) in listed {
        let Some(id) = parse_marker(&key) else {
            continue;
        };
        let mark = marks.entry(id).or_insert(Mark {
            keys: Vec::new(),
            at,
            first: at,
        });
        mark.at = mark.at.max(at);
        mark.first = mark.first.min(at);
        mark.keys.push(key);
    }
    marks
}

/// The prune lock, rewritten by a background task while the prune runs.
pub struct PruneLock {
    key: String,
    backend: Backend,
    /// The server's time when the lock was first written, and our monotonic time then.
    written: DateTime<Utc>,
    since: tokio::time::Instant,
    renewer: tokio::task::JoinHandle<()>,
    /// Live-looking locks without a valid MAC, passed over.
    unauthenticated: Vec<String>,
}

impl PruneLock {
    async fn write(repo: &Repo) -> Result<PruneLock> {
        let key = format!(
            "{LOCKS}/prune-{:016}-{}",
            repo.now().timestamp_millis().max(0),
            hex::encode(random_bytes::<8>())
        );
        let owner = repo.sign_control(&key, &serde_json::to_vec(&LockOwner::this_process())?);
        repo.backend.put(&key, owner.clone()).await?;
        let since = tokio::time::Instant::now();
        let written = repo.backend.modified(&key).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "store {}: the prune lock just written is not there",
                repo.backend.display
            )
        })?;
        let backend = repo.backend.clone();
        let renew_key = key.clone();
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(LOCK_RENEW_EVERY).await;
                let _ = backend.put(&renew_key, owner.clone()).await;
            }
        });
        Ok(PruneLock {
            key,
            backend: repo.backend.clone(),
            written,
            since,
            renewer,
            unauthenticated: Vec::new(),
        })
    }

    /// Nobody took the lock over meanwhile (a prune host that slept past the lock's lifetime
    /// finds another prune's lock): checked before anything is deleted.
    pub async fn still_ours(&self, repo: &Repo) -> Result<bool> {
        let now = self.server_now();
        let mut ours = false;
        for (key, size, modified) in repo.backend.list_with_time(LOCKS).await? {
            if key == self.key {
                ours = true;
            } else if modified + LOCK_LIFETIME > now
                && matches!(repo.read_control(&key, size).await?, Found::Authentic(_))
            {
                return Ok(false);
            }
        }
        Ok(ours)
    }

    /// Locks that looked live but carry no valid MAC: planted, or a prune of a kloset older
    /// than MACs (FORMAT.md, "Control objects").
    pub fn unauthenticated(&self) -> &[String] {
        &self.unauthenticated
    }

    /// Now, by the server's clock.
    pub fn server_now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.since.elapsed()).unwrap_or_default();
        self.written + elapsed
    }

    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        self.backend.delete(&self.key).await
    }
}

impl Drop for PruneLock {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct LockOwner {
    host: String,
    pid: u32,
    /// With the host name, what tells one machine and pid space from another: containers
    /// share host names, and a pid is only meaningful in its own namespace and boot.
    #[serde(default)]
    boot_id: String,
    #[serde(default)]
    pid_ns: String,
}

/// A lock's body names a process of this host (same boot and pid namespace) that is gone.
/// Anything that does not parse is a live lock.
pub fn lock_is_dead_here(raw: &[u8]) -> bool {
    serde_json::from_slice::<LockOwner>(raw).is_ok_and(|o| o.is_dead_here())
}

impl LockOwner {
    fn this_process() -> LockOwner {
        LockOwner {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            pid_ns: std::fs::read_link("/proc/self/ns/pid")
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The lock's process ran here (same host, boot and pid namespace) and is gone.
    fn is_dead_here(&self) -> bool {
        self.same_place(&LockOwner::this_process()) && !pid_alive(self.pid)
    }

    fn same_place(&self, here: &LockOwner) -> bool {
        !self.boot_id.is_empty()
            && !self.pid_ns.is_empty()
            && (&self.host, &self.boot_id, &self.pid_ns)
                == (&here.host, &here.boot_id, &here.pid_ns)
    }
}

/// A lock body as a kloset before MACs wrote it: owner JSON with no `mac` field (a body with
/// a wrong MAC is a forgery, not an older prune).
fn is_older_klosets_lock(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v.get("mac").is_none() && serde_json::from_value::<LockOwner>(v).is_ok())
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

pub fn parse_marker(key: &str) -> Option<Id> {
    let name = key.rsplit('/').next()?;
    let (hex, ms) = name.split_once('.')?;
    ms.parse::<i64>().ok()?;
    Id::parse(hex).ok()
}

impl IndexedRepo {
    /// Packs marked for deletion, with when.
    pub fn retiring(&self) -> &HashMap<Id, Mark> {
        &self.retiring
    }

    /// Packs the given index file names.
    pub fn packs_named_by(&self, index_key: &str) -> &[Id] {
        self.index_packs.get(index_key).map_or(&[], Vec::as_slice)
    }

    /// The index files the loaded index came from.
    pub fn index_keys(&self) -> &[String] {
        &self.index_keys
    }

    /// Every index file the load saw, the ones that did not decode too, sorted: what a
    /// listing of `index/` gave then, to compare with one made later.
    pub fn index_keys_seen(&self) -> Vec<String> {
        let damaged = self.health.damaged_index.iter().map(|(k, _)| k);
        let mut keys: Vec<String> = self.index_keys.iter().chain(damaged).cloned().collect();
        keys.sort();
        keys
    }

    /// Each indexed pack with the blobs the index reads from it.
    pub fn pack_entries(&self) -> Vec<PackEntry> {
        self.index.pack_entries()
    }

    /// `pack_entries` one pack at a time (prune: never a second copy of the index).
    pub fn pack_entries_each(&self) -> impl Iterator<Item = PackEntry> + '_ {
        self.index.pack_entries_each()
    }

    /// The ids of every indexed pack.
    pub fn pack_ids(&self) -> &[Id] {
        self.index.pack_ids()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    #[test]
    fn a_lock_is_taken_for_dead_only_in_the_same_boot_and_pid_namespace() {
        let here = LockOwner::this_process();
        let other_container = LockOwner {
            pid_ns: "pid:[1]".into(),
            ..LockOwner::this_process()
        };
        assert!(here.same_place(&LockOwner::this_process()));
        assert!(!other_container.same_place(&here));
        // Locks written before these fields: never taken for dead, they expire instead.
        let old = LockOwner {
            boot_id: String::new(),
            pid_ns: String::new(),
            ..LockOwner::this_process()
        };
        assert!(!old.same_place(&here));
        assert!(!here.is_dead_here(), "this process is alive");
    }

    #[test]
    fn marker_names_parse_to_their_pack() {
        let id = Id([7u8; 32]);
        assert_eq!(parse_marker(&format!("retiring/{}.17", id.hex())), Some(id));
        assert_eq!(parse_marker("retiring/zz.1"), None);
        assert_eq!(parse_marker(&format!("retiring/{}", id.hex())), None);
        assert_eq!(parse_marker(&format!("retiring/{}.x", id.hex())), None);
    }

    #[test]
    fn a_second_mark_moves_the_age_to_the_newest() {
        let id = Id([1u8; 32]);
        let marks = collect_marks(vec![
            (format!("retiring/{}.5", id.hex()), 0, at(5_000)),
            (format!("retiring/{}.1", id.hex()), 0, at(9_000)),
            ("retiring/garbage".into(), 0, at(1)),
        ]);
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[&id].at, at(9_000));
        assert_eq!(marks[&id].keys.len(), 2);
    }

    #[test]
    fn the_mark_time_is_the_servers_not_the_name() {
        let id = Id([2u8; 32]);
        // The marking host's clock ran a day ahead; the server says when it was written.
        let far = at(86_400_000 * 2);
        let marks = collect_marks(vec![(
            format!("retiring/{}.{}", id.hex(), far.timestamp_millis()),
            0,
            at(1_000),
        )]);
        assert_eq!(marks[&id].at, at(1_000));
    }
}
