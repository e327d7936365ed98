//! kloset: parse the command line, run it, and turn errors into one line and an exit code.

mod cli;
mod connectors;
mod error;
mod location;
mod ops;
mod passphrase;
mod progress;
mod registry;
mod repo;

use clap::Parser;

use error::KlosetError;

/// glibc gives each busy thread its own arena and keeps freed pack-sized buffers in it: with
/// the async and blocking pools that doubled peak memory. One arena per core keeps it tracking
/// live data at no measurable cost in speed.
fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    // SAFETY: mallopt only adjusts allocator tuning; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
    }
}

fn main() {
    let args = cli::args::normalise_args(std::env::args());
    let parsed = match cli::args::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    limit_malloc_arenas();
    // Deep trees recurse on rayon threads; give them room. Workers block on file reads, so
    // twice as many as cores keep the CPU busy while others wait for the disk (measured: backup
    // of a cold 1 GiB tree 20-25% faster than one per core, same memory).
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2 * cores);
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(32 * 1024 * 1024)
        .build_global();
    let _ = ctrlc::set_handler(|| {
        use std::sync::atomic::Ordering::SeqCst;
        // A backup stops at the next file and says so; anything else (or a second Ctrl-C) stops
        // at once. Either way the store stays consistent: the snapshot is the only commit.
        let graceful = ops::backup::RUNNING.load(SeqCst);
        if !graceful || ops::backup::INTERRUPTED.swap(true, SeqCst) {
            eprintln!("kloset: interrupted");
            std::process::exit(130);
        }
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kloset: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(cli::run(parsed));
    // Do not wait for idle connection pools and blocking threads.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if let Err(err) = result {
        let code = err
            .chain()
            .find_map(|e| e.downcast_ref::<KlosetError>())
            .map(KlosetError::exit_code)
            .unwrap_or(1);
        let msg = match err.downcast_ref::<KlosetError>() {
            Some(k) => k.to_string(),
            None => format!("{err:#}"),
        };
        eprintln!("kloset: {msg}");
        std::process::exit(code);
    }
}
