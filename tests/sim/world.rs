//! What a run shares: the server, the clock, the hosts and their source trees, the
//! passphrases, and the record the oracle checks (snapshots reported saved, forgotten ids).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use kloset::error::KlosetError;
use kloset::repo::backend::Backend;
use kloset::repo::config::{ChunkerParams, KdfCost, Template};
use kloset::repo::id::Id;
use kloset::repo::Repo;
use rand::rngs::StdRng;
use rand::Rng;

use super::clock::{host_clock, SimClock};
use super::faults::{Faults, Server};
use super::source::{Corpus, Tree};

/// Small packs and chunks, so a few hundred KiB make a backup of many packs.
pub const PACK_SIZE: u64 = 16 * 1024;

pub fn chunker() -> ChunkerParams {
    ChunkerParams {
        min_size: 1024,
        avg_size: 2048,
        max_size: 8192,
    }
}

/// Argon2id at its cheapest: opening a store costs microseconds.
pub fn cheap_kdf() -> KdfCost {
    KdfCost {
        memory_kib: 8,
        iterations: 1,
    }
}

pub struct Host {
    pub name: String,
    pub skew_secs: i64,
    /// Scales the store's latency for this host (a slow uplink makes long backups).
    pub slow: f64,
}

/// A snapshot an operation reported as saved, with the tree it was taken from.
pub struct Saved {
    pub op: usize,
    pub host: usize,
    pub id: Id,
    pub tree: Arc<Tree>,
}

pub struct World {
    pub sim: Arc<SimClock>,
    pub server: Arc<Server>,
    pub hosts: Vec<Host>,
    pub trees: Mutex<Vec<Tree>>,
    pub corpus: Corpus,
    /// Every passphrase ever given to the store, oldest first.
    pub passphrases: Mutex<Vec<String>>,
    pub saved: Mutex<Vec<Saved>>,
    /// Snapshots a forget meant to remove (also when it failed half-way).
    pub forgotten: Mutex<HashSet<Id>>,
}

impl World {
    /// Creates the store (with faults off) and the hosts, some of them with skewed clocks.
    /// `slow`: latency factors of the first hosts (the rest are drawn from the seed).
    pub async fn create(
        rng: &mut StdRng,
        hosts: usize,
        faults: Faults,
        slow: &[f64],
    ) -> Result<Arc<World>> {
        let sim = SimClock::start();
        let server = Server::new(sim.clone(), faults);
        let hosts = (0..hosts)
            .map(|i| Host {
                name: format!("h{i}"),
                skew_secs: match rng.gen_bool(0.4) {
                    true => 0,
                    false => rng.gen_range(-180..=180),
                },
                slow: [0.2, 1.0, 1.0, 4.0][rng.gen_range(0..4)],
            })
            .enumerate()
            .map(|(i, h)| Host {
                slow: slow.get(i).copied().unwrap_or(h.slow),
                ..h
            })
            .collect::<Vec<_>>();
        let mut master = [0u8; 32];
        rng.fill(&mut master);
        let template = Template {
            master: master.into(),
            chunker: chunker(),
        };
        let world = Arc::new(World {
            corpus: Corpus::new(rng),
            trees: Mutex::new((0..hosts.len()).map(|_| Tree::default()).collect()),
            sim,
            server,
            hosts,
            passphrases: Mutex::new(vec!["pass-0".into()]),
            saved: Mutex::new(Vec::new()),
            forgotten: Mutex::new(HashSet::new()),
        });
        world.server.set_faults(false);
        let backend = world.backend("create", 0, rng.gen());
        Repo::create(&backend, "pass-0", cheap_kdf(), PACK_SIZE, Some(&template)).await?;
        world.server.set_faults(true);
        Ok(world)
    }

    /// A backend of one operation: its own fault view, its host's clock.
    pub fn backend(&self, who: &str, host: usize, seed: u64) -> Backend {
        let slow = self.hosts.get(host).map_or(1.0, |h| h.slow);
        let store = self.server.view(who, seed, slow);
        let mut b = Backend::new(store, "sim".into(), false);
        let skew = self.hosts.get(host).map_or(0, |h| h.skew_secs);
        b.set_clock(host_clock(&self.sim, skew));
        b
    }

    /// Opens the store with the newest passphrase that works (a passwd may have removed
    /// older ones).
    pub async fn open(&self, who: &str, host: usize, seed: u64) -> Result<Repo> {
        let backend = self.backend(who, host, seed);
        let passes = self.passphrases.lock().unwrap().clone();
        let mut last = None;
        for pass in passes.iter().rev() {
            match Repo::open(backend.clone(), pass).await {
                Ok(r) => return Ok(r),
                Err(e) if matches!(e.downcast_ref(), Some(KlosetError::WrongPassphrase(_))) => {
                    last = Some(e)
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no passphrase")))
    }

    /// One of the snapshots reported saved and not forgotten, with its host and tree.
    pub fn pick_saved(&self, pick: u64) -> Option<(usize, Id, Arc<Tree>)> {
        let forgotten = self.forgotten.lock().unwrap();
        let saved = self.saved.lock().unwrap();
        let live: Vec<&Saved> = saved
            .iter()
            .filter(|s| !forgotten.contains(&s.id))
            .collect();
        let s = live.get((pick % live.len().max(1) as u64) as usize)?;
        Some((s.host, s.id, s.tree.clone()))
    }

    pub fn host_name(&self, host: usize) -> String {
        self.hosts
            .get(host)
            .map_or_else(|| "other".to_string(), |h| h.name.clone())
    }
}
