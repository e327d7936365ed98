//! One seed, start to end: a fresh current-thread runtime on a paused clock, the store, the
//! hosts' queues as concurrent tasks, then the oracle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;

use super::faults::Faults;
use super::ops::{self, Fate};
use super::oracle::{self, Violation};
use super::scheduler::{self, Params, Planned};
use super::world::World;

pub struct Outcome {
    pub seed: u64,
    /// One line per operation: host, start and end (simulated seconds), outcome.
    pub schedule: Vec<String>,
    pub violations: Vec<Violation>,
    /// Backups planned without a kill or an abort, and how many of them saved a snapshot: a
    /// simulation whose backups all fail finds nothing, and must say so.
    pub backups: (u64, u64),
}

impl Outcome {
    pub fn report(&self) -> String {
        let mut s = format!("seed {}: {} violations\n", self.seed, self.violations.len());
        s.push_str("schedule:\n");
        for line in &self.schedule {
            s.push_str(&format!("  {line}\n"));
        }
        for v in &self.violations {
            s.push_str(&format!("VIOLATION [{}] {}\n", v.class, v.text));
        }
        s
    }
}

/// Which schedule a run follows.
#[derive(Clone, Copy, Debug)]
pub enum Scenario {
    Random,
    MissingIndex,
    LongBackup,
}

pub fn run_seed(seed: u64, scenario: Scenario, params: &Params) -> Outcome {
    ops::install_kill_hook();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let (mut rng, plan) = match scenario {
        Scenario::Random => scheduler::random(seed, params),
        Scenario::MissingIndex => scheduler::missing_index(seed),
        Scenario::LongBackup => scheduler::long_backup(seed),
    };
    let hosts = match scenario {
        Scenario::Random => params.hosts,
        _ => 2,
    };
    let local = tokio::task::LocalSet::new();
    let mut faults = params.faults.clone();
    let mut slow = Vec::new();
    if let Scenario::LongBackup = scenario {
        // Every request slow, the backing-up host slower: its backup spans many prunes.
        faults.latency = 1.0;
        faults.max_latency_ms = faults.max_latency_ms.max(3000);
        slow = vec![1.0, 0.1];
    }
    let run = simulate(seed, &mut rng, hosts, faults, &slow, plan);
    let outcome = rt.block_on(local.run_until(run));
    // Strays (an aborted backup's uploader) are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_millis(100));
    outcome
}

async fn simulate(
    seed: u64,
    rng: &mut StdRng,
    hosts: usize,
    faults: Faults,
    slow: &[f64],
    plan: Vec<Planned>,
) -> Outcome {
    let world = match World::create(rng, hosts, faults, slow).await {
        Ok(w) => w,
        Err(e) => {
            return Outcome {
                seed,
                schedule: Vec::new(),
                violations: vec![Violation {
                    class: "setup".into(),
                    text: format!("create failed: {e:#}"),
                }],
                backups: (0, 0),
            }
        }
    };
    let stop = stall_watchdog(&world);
    let lines: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let panics: Arc<Mutex<Vec<Violation>>> = Arc::default();
    let backups: Arc<Mutex<(u64, u64)>> = Arc::default();
    let mut queues = Vec::new();
    for host in 0..=hosts {
        let mine: Vec<Planned> = plan.iter().filter(|p| p.host == host).cloned().collect();
        let (world, lines, panics) = (world.clone(), lines.clone(), panics.clone());
        let backups = backups.clone();
        queues.push(tokio::task::spawn_local(async move {
            for p in mine {
                let at = Duration::from_millis(p.at_ms);
                let now = Duration::from_secs_f64(world.sim.secs());
                if at > now {
                    tokio::time::sleep(at - now).await;
                }
                let start = world.sim.secs();
                let head = format!(
                    "op{:<3} {:<5} {:<55}{}{}",
                    p.n,
                    world.host_name(p.host),
                    scheduler::describe(&p.kind),
                    p.kill_at.map(|k| format!(" kill@{k}")).unwrap_or_default(),
                    p.abort_after_ms
                        .map(|ms| format!(" abort@+{:.1}s", ms as f64 / 1000.0))
                        .unwrap_or_default(),
                );
                let n = p.n;
                let plain_backup = matches!(p.kind, scheduler::Kind::Backup { .. })
                    && p.kill_at.is_none()
                    && p.abort_after_ms.is_none();
                let fate = ops::run(world.clone(), p).await;
                if plain_backup {
                    let mut b = backups.lock().unwrap();
                    b.0 += 1;
                    b.1 += u64::from(matches!(fate, Fate::Done(_)));
                }
                if let Fate::Panicked(s) = &fate {
                    panics.lock().unwrap().push(Violation {
                        class: "panic".into(),
                        text: format!("op{n} panicked: {s}"),
                    });
                }
                let line = format!(
                    "{head} {:>9.1}s-{:>9.1}s {}",
                    start,
                    world.sim.secs(),
                    fate.show()
                );
                lines.lock().unwrap().push((n, line));
            }
        }));
    }
    for q in queues {
        let _ = q.await;
    }
    // Let what aborted operations left running (uploaders) finish or fail.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let mut violations = panics.lock().unwrap().clone();
    violations.extend(oracle::verify(&world).await);
    stop.store(true, Ordering::SeqCst);
    let mut schedule = lines.lock().unwrap().clone();
    schedule.sort_by_key(|(n, _)| *n);
    let mut schedule: Vec<String> = schedule.into_iter().map(|(_, l)| l).collect();
    let hosts_line: Vec<String> = world
        .hosts
        .iter()
        .map(|h| format!("{} skew {:+}s slow x{}", h.name, h.skew_secs, h.slow))
        .collect();
    schedule.insert(0, format!("hosts: {}", hosts_line.join(", ")));
    let backups = *backups.lock().unwrap();
    Outcome {
        seed,
        schedule,
        violations,
        backups,
    }
}

/// Tokio does not auto-advance a paused clock while a `spawn_blocking` task runs (right for
/// CPU work: sealing takes no simulated time). But the saver's blocking send waits for the
/// uploader, which may be sleeping on a simulated latency: nothing would ever move. A thread
/// watches the server's request counter; when it has not moved for 2 ms of real time, a
/// task on the runtime advances the clock by 100 ms. Returns the flag that stops it.
fn stall_watchdog(world: &Arc<World>) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let notify = Arc::new(tokio::sync::Notify::new());
    let keeper = notify.clone();
    tokio::task::spawn_local(async move {
        loop {
            keeper.notified().await;
            tokio::time::advance(Duration::from_millis(100)).await;
        }
    });
    let (server, flag) = (world.server.clone(), stop.clone());
    std::thread::spawn(move || {
        let mut last = u64::MAX;
        while !flag.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
            let now = server.progress.load(Ordering::Relaxed);
            if now == last {
                notify.notify_one();
            }
            last = now;
        }
    });
    stop
}
