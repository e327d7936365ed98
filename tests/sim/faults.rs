//! The fault layer: an `ObjectStore` over `InMemory` that, per request and by a seeded RNG,
//! fails (transient `Generic` error), waits (latency on the paused clock), loses the response
//! to a write that did happen, and lists without the newest objects (listing lag). It also is
//! the server's clock: every put is stamped with simulated time, reported as `last_modified`
//! (InMemory's own stamps are wall-clock time and never leak out).
//!
//! One `Server` holds the objects; each operation talks to it through its own `FaultStore`
//! view with its own RNG, so the fault decisions of an operation follow from the seed and that
//! operation's own request order, not from how the runtime interleaved everybody else.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;
use kloset::clock::Clock;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clock::SimClock;

/// Fault rates per request (0 = none).
#[derive(Clone, Debug)]
pub struct Faults {
    pub error: f64,
    pub lost_write: f64,
    pub latency: f64,
    pub max_latency_ms: u64,
    /// Listings omit objects written less than this long ago.
    pub list_lag_ms: u64,
}

/// A pack the server deleted: by whom, when, and whether a `retiring/` mark stood for it
/// then (prune's two-phase path) or not (the sweep of packs no index names).
#[derive(Clone, Debug)]
pub struct DeletedPack {
    pub key: String,
    pub by: String,
    pub at: f64,
    pub was_marked: bool,
    pub bytes: Bytes,
}

pub struct Server {
    inner: InMemory,
    clock: Arc<SimClock>,
    faults: Faults,
    enabled: AtomicBool,
    times: Mutex<HashMap<Path, DateTime<Utc>>>,
    /// Pack ids (hex) with a retiring mark standing.
    marked: Mutex<HashSet<String>>,
    pub deleted_packs: Mutex<Vec<DeletedPack>>,
    /// Index files removed by the adversary, with when.
    pub removed_index: Mutex<Vec<(String, f64)>>,
    /// Requests started or ended: the stall watchdog (see `run`) watches it.
    pub progress: AtomicU64,
}

impl Server {
    pub fn new(clock: Arc<SimClock>, faults: Faults) -> Arc<Server> {
        Arc::new(Server {
            inner: InMemory::new(),
            clock,
            faults,
            enabled: AtomicBool::new(true),
            times: Mutex::new(HashMap::new()),
            marked: Mutex::new(HashSet::new()),
            deleted_packs: Mutex::new(Vec::new()),
            removed_index: Mutex::new(Vec::new()),
            progress: AtomicU64::new(0),
        })
    }

    /// Faults on or off (off for the final oracle check).
    pub fn set_faults(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    /// A view for one operation, its fault decisions drawn from its own seed.
    /// `slow` scales its latency (a host's slow uplink).
    pub fn view(self: &Arc<Self>, who: &str, seed: u64, slow: f64) -> Arc<dyn ObjectStore> {
        Arc::new(FaultStore {
            server: self.clone(),
            who: who.to_string(),
            slow,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        })
    }

    /// Every key under `prefix`, sorted, with no faults (for the adversary and the oracle).
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let metas: Vec<ObjectMeta> = self
            .inner
            .list(Some(&Path::from(prefix)))
            .try_collect()
            .await
            .unwrap_or_default();
        let mut keys: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        keys
    }

    /// These keys oldest first by server time: write order follows the schedule, names
    /// (content hashes over random nonces) do not.
    pub fn by_age(&self, mut keys: Vec<String>) -> Vec<String> {
        let times = self.times.lock().unwrap();
        keys.sort_by_key(|k| (times.get(&Path::from(k.as_str())).copied(), k.clone()));
        keys
    }

    /// Someone else (a copy tool) deletes an object.
    pub async fn remove_by_someone_else(&self, key: &str) {
        let _ = self.inner.delete(&Path::from(key)).await;
        self.times.lock().unwrap().remove(&Path::from(key));
        self.removed_index
            .lock()
            .unwrap()
            .push((key.to_string(), self.clock.secs()));
    }

    /// Someone else puts an object, as the server stamps it (a mark planted this way is not
    /// counted as a standing mark: the oracle's explanations are about kloset's own).
    pub async fn plant_by_someone_else(&self, key: &str, body: Vec<u8>) {
        let path = Path::from(key);
        let _ = self.inner.put(&path, body.into()).await;
        self.times.lock().unwrap().insert(path, self.clock.now());
    }

    fn stamp(&self, path: &Path) {
        self.times
            .lock()
            .unwrap()
            .insert(path.clone(), self.clock.now());
        let key = path.to_string();
        if let Some(id) = marked_pack(&key) {
            self.marked.lock().unwrap().insert(id);
        }
    }

    fn time_of(&self, path: &Path) -> Option<DateTime<Utc>> {
        self.times.lock().unwrap().get(path).copied()
    }

    fn restamp(&self, meta: ObjectMeta) -> ObjectMeta {
        let t = self
            .time_of(&meta.location)
            .unwrap_or_else(|| self.clock.now());
        ObjectMeta {
            last_modified: t,
            ..meta
        }
    }

    async fn before_delete(&self, path: &Path, who: &str) {
        let key = path.to_string();
        if let Some(id) = marked_pack(&key) {
            self.marked.lock().unwrap().remove(&id);
            return;
        }
        let Some(id) = key.strip_prefix("packs/").and_then(|r| r.split('/').nth(1)) else {
            return;
        };
        let Ok(got) = self.inner.get(path).await else {
            return;
        };
        let bytes = got.bytes().await.unwrap_or_default();
        let was_marked = self.marked.lock().unwrap().contains(id);
        self.deleted_packs.lock().unwrap().push(DeletedPack {
            key,
            by: who.to_string(),
            at: self.clock.secs(),
            was_marked,
            bytes,
        });
    }
}

/// `retiring/<pack id>.<ms>` names the pack id.
fn marked_pack(key: &str) -> Option<String> {
    let rest = key.strip_prefix("retiring/")?;
    Some(rest.split('.').next()?.to_string())
}

struct FaultStore {
    server: Arc<Server>,
    who: String,
    slow: f64,
    rng: Mutex<StdRng>,
}

/// What happens to one request.
#[derive(Default)]
struct Fate {
    delay: Option<Duration>,
    fail: bool,
    lose_response: bool,
}

impl FaultStore {
    fn fate(&self, write: bool) -> Fate {
        self.server.progress.fetch_add(1, Ordering::Relaxed);
        let f = &self.server.faults;
        let mut rng = self.rng.lock().unwrap();
        // Always draw the same numbers, so enabling faults later does not shift the sequence.
        let (a, b, c, d): (f64, f64, f64, f64) = (rng.gen(), rng.gen(), rng.gen(), rng.gen());
        if !self.server.enabled.load(Ordering::SeqCst) {
            return Fate::default();
        }
        Fate {
            delay: (a < f.latency && f.max_latency_ms > 0)
                .then(|| Duration::from_millis((b * self.slow * f.max_latency_ms as f64) as u64)),
            fail: c < f.error,
            lose_response: write && d < f.lost_write,
        }
    }

    async fn wait(&self, fate: &Fate) {
        if let Some(d) = fate.delay {
            tokio::time::sleep(d).await;
        }
    }
}

fn injected(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "sim",
        source: format!("injected fault: {what}").into(),
    }
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore({})", self.who)
    }
}

impl fmt::Debug for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let fate = self.fate(true);
        self.wait(&fate).await;
        if fate.fail {
            return Err(injected("put refused"));
        }
        let r = self.server.inner.put_opts(location, payload, opts).await?;
        self.server.stamp(location);
        if fate.lose_response {
            return Err(injected("put response lost"));
        }
        Ok(r)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        // Not used by the library for simulated sizes; stamped when started.
        let r = self.server.inner.put_multipart_opts(location, opts).await?;
        self.server.stamp(location);
        Ok(r)
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let fate = self.fate(false);
        self.wait(&fate).await;
        if fate.fail {
            return Err(injected("get failed"));
        }
        let mut r = self.server.inner.get_opts(location, options).await?;
        r.meta = self.server.restamp(r.meta);
        Ok(r)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let fate = self.fate(false);
        self.wait(&fate).await;
        if fate.fail {
            return Err(injected("ranged get failed"));
        }
        self.server.inner.get_ranges(location, ranges).await
    }

    async fn head(&self, location: &Path) -> object_store::Result<ObjectMeta> {
        let fate = self.fate(false);
        self.wait(&fate).await;
        if fate.fail {
            return Err(injected("head failed"));
        }
        let m = self.server.inner.head(location).await?;
        Ok(self.server.restamp(m))
    }

    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        let fate = self.fate(true);
        self.wait(&fate).await;
        if fate.fail {
            return Err(injected("delete refused"));
        }
        self.server.before_delete(location, &self.who).await;
        self.server.inner.delete(location).await?;
        self.server.times.lock().unwrap().remove(location);
        if fate.lose_response {
            return Err(injected("delete response lost"));
        }
        Ok(())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let fate = self.fate(false);
        let listing = self.server.inner.list(prefix);
        let server = self.server.clone();
        async move {
            if let Some(d) = fate.delay {
                tokio::time::sleep(d).await;
            }
            if fate.fail {
                return stream::iter(vec![Err(injected("list failed"))]).boxed();
            }
            let metas: Vec<ObjectMeta> = match listing.try_collect().await {
                Ok(m) => m,
                Err(e) => return stream::iter(vec![Err(e)]).boxed(),
            };
            let lag = match server.enabled.load(Ordering::SeqCst) {
                true => chrono::Duration::milliseconds(server.faults.list_lag_ms as i64),
                false => chrono::Duration::zero(),
            };
            let newest = server.clock.now() - lag;
            let shown: Vec<_> = metas
                .into_iter()
                .map(|m| server.restamp(m))
                .filter(|m| lag.is_zero() || m.last_modified <= newest)
                .map(Ok)
                .collect();
            stream::iter(shown).boxed()
        }
        .flatten_stream()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let fate = self.fate(false);
        self.wait(&fate).await;
        if fate.fail {
            return Err(injected("list failed"));
        }
        let mut r = self.server.inner.list_with_delimiter(prefix).await?;
        r.objects = r
            .objects
            .into_iter()
            .map(|m| self.server.restamp(m))
            .collect();
        Ok(r)
    }

    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.server.inner.copy(from, to).await?;
        self.server.stamp(to);
        Ok(())
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.server.inner.copy_if_not_exists(from, to).await?;
        self.server.stamp(to);
        Ok(())
    }
}
