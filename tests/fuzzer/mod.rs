//! A small fuzzer for stable Rust: seeded random mutations of valid encodings, and raw random
//! bytes, fed to one parser for a time budget. A case fails when the parser panics or when
//! the bytes it allocates at its peak exceed `k · input length + c` (counted by this test
//! binary's global allocator, per thread, so parallel tests do not disturb each other; what
//! zstd allocates through C's malloc is not counted).
//!
//! `KLOSET_FUZZ_SECONDS` sets each target's time (default: a short slice for the suite);
//! `KLOSET_FUZZ_SEED` replays a run. `scripts/fuzz SECONDS` runs them all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub struct Counting;

thread_local! {
    static NOW: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    let _ = NOW.try_with(|now| {
        let v = now.get() + n;
        now.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Runs `f` and returns the most bytes it held allocated at once, beyond what was allocated
/// before it started.
pub fn peak_of(f: impl FnOnce()) -> usize {
    let start = NOW.with(Cell::get);
    PEAK.with(|p| p.set(start));
    f();
    (PEAK.with(Cell::get) - start).max(0) as usize
}

/// What one target allows itself: `k` bytes per input byte, plus `c`.
#[derive(Clone, Copy)]
pub struct Budget {
    pub k: usize,
    pub c: usize,
}

pub struct Outcome {
    pub cases: u64,
    pub elapsed: Duration,
    pub worst_ratio: f64,
}

fn seconds() -> f64 {
    std::env::var("KLOSET_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.2)
}

fn base_seed(name: &str) -> u64 {
    let fixed = std::env::var("KLOSET_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let name_hash = name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    fixed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }) ^ name_hash
}

/// Fuzzes `parse` with mutations of `seeds` (and random bytes) for the time budget. Panics
/// with the failing input (hex) on a finding.
pub fn run(name: &str, seeds: &[Vec<u8>], budget: Budget, parse: impl Fn(&[u8])) -> Outcome {
    run_prepared(name, seeds, budget, |b| b.to_vec(), parse)
}

/// `run` for objects stored sealed: each mutated content is first made into the stored bytes
/// by `prepare` (sealing, outside what is measured); random bytes go to `parse` as they are.
/// The allowance counts the larger of the content and the stored bytes.
pub fn run_prepared(
    name: &str,
    seeds: &[Vec<u8>],
    budget: Budget,
    prepare: impl Fn(&[u8]) -> Vec<u8>,
    parse: impl Fn(&[u8]),
) -> Outcome {
    let seed = base_seed(name);
    let mut rng = StdRng::seed_from_u64(seed);
    let until = Duration::from_secs_f64(seconds());
    let started = Instant::now();
    let mut cases = 0u64;
    let mut worst_ratio = 0f64;
    // The seeds themselves first: valid encodings must pass.
    let mut queue: Vec<Vec<u8>> = seeds.to_vec();
    while started.elapsed() < until || !queue.is_empty() {
        let (content, input) = match queue.pop() {
            Some(s) => (s.clone(), prepare(&s)),
            None if rng.gen_ratio(1, 16) => {
                let len = rng.gen_range(0..1024);
                let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                (bytes.clone(), bytes)
            }
            None => {
                let content = next_input(&mut rng, seeds);
                let input = prepare(&content);
                (content, input)
            }
        };
        cases += 1;
        let mut outcome = Ok(());
        let peak = peak_of(|| {
            outcome = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        });
        let allowed = budget.k * content.len().max(input.len()) + budget.c;
        if outcome.is_err() || peak > allowed {
            let what = match outcome {
                Err(_) => "panicked".to_string(),
                Ok(()) => format!("allocated {peak} bytes, more than the {allowed} allowed"),
            };
            panic!(
                "fuzz target {name} (seed {seed}, case {cases}): {what} on {} bytes: {}",
                input.len(),
                hex_head(&input)
            );
        }
        let len = content.len().max(input.len());
        if len >= 1024 {
            worst_ratio = worst_ratio.max(peak as f64 / len as f64);
        }
    }
    let outcome = Outcome {
        cases,
        elapsed: started.elapsed(),
        worst_ratio,
    };
    println!(
        "fuzz {name}: {} cases in {:.1} s, no finding (seed {seed}, at most {:.1} bytes allocated per byte of inputs over 1 KiB)",
        outcome.cases,
        outcome.elapsed.as_secs_f64(),
        outcome.worst_ratio
    );
    outcome
}

fn hex_head(input: &[u8]) -> String {
    let shown: String = input.iter().take(512).map(|b| format!("{b:02x}")).collect();
    match input.len() > 512 {
        true => format!("{shown}..."),
        false => shown,
    }
}

/// A mutation of a seed (a few stacked), a splice of two, or random bytes.
fn next_input(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if seeds.is_empty() || rng.gen_ratio(1, 32) {
        let len = rng.gen_range(0..512);
        return (0..len).map(|_| rng.gen()).collect();
    }
    let mut data = seeds[rng.gen_range(0..seeds.len())].clone();
    for _ in 0..rng.gen_range(1..=4) {
        mutate(rng, &mut data, seeds);
    }
    data
}

const TOKENS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"1e999",
    b"null",
    b"true",
    b"\"\"",
    b"[]",
    b"{}",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"\"zz\"",
    b"\"ff\"",
    b"\"dir\"",
    b"\"file\"",
    b"\"tree\"",
    b"\"data\"",
];

fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = data.len();
    match rng.gen_range(0..9) {
        0 if len > 0 => {
            let i = rng.gen_range(0..len);
            data[i] ^= 1 << rng.gen_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.gen_range(0..len);
            data[i] = *[
                0u8, 0xff, b'"', b'{', b'}', b'[', b']', b',', b':', b'9', b'\\',
            ]
            .get(rng.gen_range(0..11))
            .unwrap_or(&0);
        }
        2 => {
            let i = rng.gen_range(0..=len);
            let token = TOKENS[rng.gen_range(0..TOKENS.len())];
            data.splice(i..i, token.iter().copied());
        }
        3 if len > 0 => {
            // A number or string replaced by a token: JSON-aware enough to reach the fields.
            let i = rng.gen_range(0..len);
            let end = (i + rng.gen_range(1..24)).min(len);
            let token = TOKENS[rng.gen_range(0..TOKENS.len())];
            data.splice(i..end, token.iter().copied());
        }
        4 if len > 0 => {
            let i = rng.gen_range(0..len);
            let end = (i + rng.gen_range(1..64)).min(len);
            data.drain(i..end);
        }
        5 if len > 0 => {
            // A run copied elsewhere: repeated entries, nested objects.
            let i = rng.gen_range(0..len);
            let end = (i + rng.gen_range(1..256)).min(len);
            let run: Vec<u8> = data[i..end].to_vec();
            let at = rng.gen_range(0..=len);
            data.splice(at..at, run);
        }
        6 => data.truncate(rng.gen_range(0..=len)),
        7 if !seeds.is_empty() => {
            let other = &seeds[rng.gen_range(0..seeds.len())];
            let cut = rng.gen_range(0..=len);
            let from = rng.gen_range(0..=other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        _ => {
            let i = rng.gen_range(0..=len);
            let n = rng.gen_range(1..16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            data.splice(i..i, bytes);
        }
    }
}
