//! Deterministic simulation of kloset (FoundationDB-simulator / VOPR style): several hosts
//! back up, forget, prune, check, repair and change keys on one in-memory store behind a fault
//! layer, on a paused clock, all decided by one seed; an oracle then checks that every
//! snapshot reported saved restores byte-identical and `check --read-data` is clean.
//!
//! - `cargo test --test simulation`: the slice, as many seeds as fit in ~30 s, asserting no
//!   violations, and the two data losses this simulator first found (an index file lost, then
//!   prune; a backup longer than the delete delay beside prunes) as focused scenarios. Before
//!   leases and the commit check, seed 52 found the second and seed 538 the first.
//! - `scripts/simulate N [--seed S] [--hosts H] [--ops K]`: `simulate_from_env` below.
//!
//! What a seed fixes, and what it does not. One `StdRng` from the seed draws the whole
//! schedule before anything runs (hosts, clock skews, latency factors, operations, start
//! times, parameters, kill points, abort times, the store's master key); each operation's
//! source changes and fault decisions come from its own RNG seeded from that, drawn in the
//! order of its own requests. Not fixed: the library seals with OS-random nonces, so pack,
//! index and snapshot ids (and the order of listings and of std `HashMap`s keyed by them)
//! differ from run to run; concurrent uploads (`buffer_unordered`) and `spawn_blocking` work
//! interleave by the runtime's choice; a stall watchdog (run.rs) advances the paused clock
//! by real-time observation. A replay therefore runs the same schedule with the same faults,
//! and mostly the same interleaving, but may diverge in detail; the violations found here
//! (both known bugs) replay per seed in practice, not bit for bit.

mod sim;

use std::time::{Duration, Instant};

use sim::run::{run_seed, Outcome, Scenario};
use sim::scheduler::Params;

/// Bytes a tree page holds in the simulation: directories of a few files are paged.
const SIM_TREE_PAGE: u64 = 1000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn params() -> Params {
    let hosts = env_u64("KLOSET_SIM_HOSTS").unwrap_or(3) as usize;
    let ops = env_u64("KLOSET_SIM_OPS").unwrap_or(14) as usize;
    Params::standard(hosts, ops)
}

/// Runs seeds `first..first+n` (stopping early after `budget`), prints one line per
/// violation and the whole report of the first violating seed; returns (seeds run, violations).
fn run_many(
    first: u64,
    n: u64,
    budget: Option<Duration>,
    scenario: Scenario,
    p: &Params,
    full: bool,
) -> (u64, Vec<Outcome>) {
    // Small trees are paged, so every schedule also writes, walks and prunes paged trees.
    kloset::repo::bounds::set_tree_page_for_tests(SIM_TREE_PAGE);
    let started = Instant::now();
    let mut bad = Vec::new();
    let mut ran = 0;
    let (mut planned, mut saved) = (0, 0);
    for seed in first..first + n {
        if budget.is_some_and(|b| started.elapsed() > b) {
            break;
        }
        let out = run_seed(seed, scenario, p);
        ran += 1;
        planned += out.backups.0;
        saved += out.backups.1;
        if full {
            for line in out.report().lines() {
                println!("SIM| {line}");
            }
        }
        for v in &out.violations {
            println!("SIM| seed {seed}: [{}] {}", v.class, v.text);
        }
        if !out.violations.is_empty() {
            if bad.is_empty() && !full {
                eprintln!("{}", out.report());
            }
            bad.push(out);
        }
    }
    let k: usize = bad.iter().map(|o| o.violations.len()).sum();
    let rate = ran as f64 / started.elapsed().as_secs_f64().max(1e-9) * 3600.0;
    eprintln!(
        "{ran} seeds in {:.1}s ({rate:.0} seeds/hour)",
        started.elapsed().as_secs_f64()
    );
    println!("SIM| backups planned without a kill or an abort: {planned}, saved: {saved}");
    println!("SIM| {ran} seeds, {k} violations");
    // Faults make some fail; most failing means the simulation no longer exercises anything.
    assert!(
        planned == 0 || saved * 2 >= planned,
        "only {saved} of {planned} simulated backups saved a snapshot: the simulation is inert"
    );
    (ran, bad)
}

fn assert_clean(what: &str, ran: u64, bad: &[Outcome]) {
    let seeds: Vec<u64> = bad.iter().map(|o| o.seed).collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {ran} seeds violated (seeds {seeds:?}). Replay one with: \
         scripts/simulate 1 --seed {}",
        bad.len(),
        seeds.first().copied().unwrap_or(0)
    );
}

/// The default slice: a few hundred seeds within ~30 s.
#[test]
fn simulation_slice_finds_no_violation() {
    let first = env_u64("KLOSET_SIM_SEED").unwrap_or(0);
    let (ran, bad) = run_many(
        first,
        400,
        Some(Duration::from_secs(30)),
        Scenario::Random,
        &params(),
        false,
    );
    assert_clean("simulation slice", ran, &bad);
}

/// `KLOSET_SIM_SEEDS` seeds from `KLOSET_SIM_SEED` (default 0); a single seed prints its
/// whole schedule. `KLOSET_SIM_SCENARIO`: random (default), missing-index, long-backup.
#[test]
#[ignore = "driven by scripts/simulate"]
fn simulate_from_env() {
    let n = env_u64("KLOSET_SIM_SEEDS").unwrap_or(10);
    let first = env_u64("KLOSET_SIM_SEED").unwrap_or(0);
    let scenario = match std::env::var("KLOSET_SIM_SCENARIO").as_deref() {
        Ok("missing-index") => Scenario::MissingIndex,
        Ok("long-backup") => Scenario::LongBackup,
        _ => Scenario::Random,
    };
    let (ran, bad) = run_many(first, n, None, scenario, &params(), n == 1);
    assert_clean("simulation", ran, &bad);
}

/// Once a loss: an index file deleted by someone else, then prune swept its packs.
#[test]
fn bug1_missing_index_then_prune() {
    let (ran, bad) = run_many(0, 5, None, Scenario::MissingIndex, &params(), false);
    assert_clean("missing index + prune", ran, &bad);
}

/// Once a loss: a backup longer than the delete delay beside periodic prunes.
#[test]
fn bug2_long_backup_beside_prune() {
    let (ran, bad) = run_many(0, 5, None, Scenario::LongBackup, &params(), false);
    assert_clean("long backup + prune", ran, &bad);
}
