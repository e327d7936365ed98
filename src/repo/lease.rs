//! Leases: how a running backup or sync announces itself to prune (FORMAT.md, "Leases").
//! A writer puts `leases/<random>` before it loads the index and rewrites it every
//! `RENEW_EVERY`; prune never marks or deletes what such a writer may still refer to: packs
//! written, and marks made, after the start of the oldest live lease. Every age is the
//! server's (`LastModified`), so hosts whose clocks disagree cannot shorten a lease.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::control::Found;
use super::crypto::random_bytes;
use super::Repo;

pub(super) const LEASES: &str = "leases";
/// How often a live writer rewrites its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(60);
/// A lease not rewritten for this long belongs to a writer that died (or lost the store).
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// A lease this old is removed by prune.
const DEAD_AFTER: chrono::Duration = chrono::Duration::days(1);
/// A writer whose renewals stopped for this long no longer counts on its lease at commit.
const INTACT_GAP: chrono::Duration = chrono::Duration::minutes(4);

#[derive(Serialize, Deserialize)]
struct LeaseBody {
    host: String,
    pid: u32,
    op: String,
    /// The server's time of the first write, in ms since the epoch (absent in the first write,
    /// whose `LastModified` is that time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_ms: Option<i64>,
}

/// A live writer's announcement; renewed by a background task until released or dropped.
pub struct Lease {
    handle: Handle,
    /// Server time of the first write.
    started: DateTime<Utc>,
    renewer: tokio::task::JoinHandle<()>,
}

/// What renewing needs, cheap to clone out of the repo's lock.
#[derive(Clone)]
struct Handle {
    backend: Backend,
    key: String,
    body: Bytes,
    state: Arc<Mutex<State>>,
}

struct State {
    /// The server's time of the last renewal that went through.
    last: DateTime<Utc>,
    /// Every renewal so far came within `INTACT_GAP` of the one before, by the server's clock
    /// (which, unlike this host's monotonic clock, also runs while this host is suspended).
    intact: bool,
}

impl Handle {
    /// Rewrites the lease and reads back the server's time of it.
    async fn renew(&self) -> Result<DateTime<Utc>> {
        self.backend.put(&self.key, self.body.clone()).await?;
        let at = self.backend.modified(&self.key).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "store {}: this writer's lease vanished (removed by someone else)",
                self.backend.display
            )
        })?;
        let mut state = self.state.lock().expect("lease state");
        if at - state.last > INTACT_GAP || at < state.last {
            state.intact = false;
        }
        state.last = state.last.max(at);
        Ok(at)
    }
}

impl Lease {
    pub fn started(&self) -> DateTime<Utc> {
        self.started
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A writer that failed or was killed stops renewing: its lease goes stale.
        self.renewer.abort();
    }
}

/// A lease as prune sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveLease {
    pub key: String,
    pub started: DateTime<Utc>,
    pub renewed: DateTime<Utc>,
    /// It carries a valid MAC. One without is honoured all the same (a kloset older than MACs
    /// writes none, and ignoring its lease could delete its fresh packs): it only ever makes
    /// prune spare more. Prune names it.
    pub authentic: bool,
}

impl Repo {
    /// Announces a writer. Must come before the index is loaded: a prune that does not see
    /// this lease marked nothing the index loaded afterwards will not also show as marked.
    pub async fn take_lease(&self, op: &str) -> Result<()> {
        let key = format!("{LEASES}/{}", hex::encode(random_bytes::<16>()));
        let mut body = LeaseBody {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            op: op.to_string(),
            started_ms: None,
        };
        let first = self.sign_control(&key, &serde_json::to_vec(&body)?);
        self.backend.put(&key, first).await?;
        let started = self.backend.modified(&key).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "store {}: the lease just written is not there: the store does not keep what is written",
                self.backend.display
            )
        })?;
        body.started_ms = Some(started.timestamp_millis());
        let handle = Handle {
            backend: self.backend.clone(),
            body: self.sign_control(&key, &serde_json::to_vec(&body)?),
            key,
            state: Arc::new(Mutex::new(State {
                last: started,
                intact: true,
            })),
        };
        let renewing = handle.clone();
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                // A failed renewal shows as a gap at the next one that goes through.
                let _ = renewing.renew().await;
            }
        });
        *self.lease.lock().expect("lease") = Some(Lease {
            handle,
            started,
            renewer,
        });
        Ok(())
    }

    /// Renews the writer's lease now and says what it guarantees: since when, and whether it
    /// held throughout, up to this renewal (the commit asks before and after writing).
    pub async fn renew_lease(&self) -> Result<Option<super::commit::LeaseView>> {
        let held = self
            .lease
            .lock()
            .expect("lease")
            .as_ref()
            .map(|l| (l.handle.clone(), l.started));
        let Some((handle, started)) = held else {
            return Ok(None);
        };
        let at = handle.renew().await?;
        let intact = handle.state.lock().expect("lease state").intact;
        Ok(Some(super::commit::LeaseView {
            started,
            intact,
            renewed: at,
        }))
    }

    /// Ends the announcement (after the commit, or when the writer gives up). A failure is
    /// only a warning's worth: the lease goes stale by itself.
    pub async fn release_lease(&self) {
        let lease = self.lease.lock().expect("lease").take();
        if let Some(l) = lease {
            l.renewer.abort();
            let _ = l.handle.backend.delete(&l.handle.key).await;
        }
    }

    /// Leases renewed within `STALE_AFTER` of the server's `now`, authentic or not.
    pub async fn live_leases(&self, now: DateTime<Utc>) -> Result<Vec<LiveLease>> {
        let mut live = Vec::new();
        for (key, size, renewed) in self.backend.list_with_time(LEASES).await? {
            if renewed + STALE_AFTER <= now {
                continue;
            }
            let (started, authentic) = match self.read_control(&key, size).await? {
                // A lease released since the listing is simply gone.
                Found::Gone => continue,
                Found::Authentic(raw) => (started_of(&raw, renewed), true),
                Found::Unauthenticated(Some(raw)) => (started_of(&raw, renewed), false),
                // Not a lease any kloset wrote, never read whole: it spares everything.
                Found::Unauthenticated(None) => (DateTime::<Utc>::UNIX_EPOCH, false),
            };
            live.push(LiveLease {
                key,
                started,
                renewed,
                authentic,
            });
        }
        Ok(live)
    }
}

impl Repo {
    /// Leases of writers that died long ago (not renewed for `DEAD_AFTER`): removed by prune
    /// so the listing stays short. A stale lease protects nothing already.
    pub async fn remove_dead_leases(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut removed = 0;
        for (key, _, renewed) in self.backend.list_with_time(LEASES).await? {
            if renewed + DEAD_AFTER <= now {
                self.backend.delete(&key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// When a lease began: recorded by its renewals, else (a first write, with no `started_ms`)
/// its only write's `LastModified`. A body that does not parse, or claims a start after its
/// write, may belong to a writer that began at any time: it spares everything.
pub fn started_of(raw: &[u8], renewed: DateTime<Utc>) -> DateTime<Utc> {
    let Ok(body) = serde_json::from_slice::<LeaseBody>(raw) else {
        return DateTime::<Utc>::UNIX_EPOCH;
    };
    match body.started_ms {
        None => renewed,
        Some(ms) => Utc
            .timestamp_millis_opt(ms)
            .single()
            .filter(|t| *t <= renewed)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
    }
}

/// The oldest start among live leases: prune spares what is newer.
pub fn oldest_start(leases: &[LiveLease]) -> Option<DateTime<Utc>> {
    leases.iter().map(|l| l.started).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    #[test]
    fn a_renewed_lease_keeps_its_first_start() {
        let body = br#"{"host":"h","pid":1,"op":"backup","started_ms":1000}"#;
        assert_eq!(started_of(body, at(90_000)), at(1000));
    }

    #[test]
    fn a_first_write_starts_at_its_own_time() {
        let body = br#"{"host":"h","pid":1,"op":"backup"}"#;
        assert_eq!(started_of(body, at(5000)), at(5000));
    }

    #[test]
    fn a_start_claimed_after_the_write_or_garbage_spares_everything() {
        let late = br#"{"host":"h","pid":1,"op":"backup","started_ms":9000}"#;
        assert_eq!(started_of(late, at(5000)), DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(
            started_of(b"not json", at(5000)),
            DateTime::<Utc>::UNIX_EPOCH
        );
    }

    #[test]
    fn oldest_start_is_the_minimum() {
        let l = |s, r| LiveLease {
            key: String::new(),
            started: at(s),
            renewed: at(r),
            authentic: true,
        };
        assert_eq!(oldest_start(&[]), None);
        assert_eq!(
            oldest_start(&[l(30, 40), l(10, 50), l(20, 60)]),
            Some(at(10))
        );
    }
}
