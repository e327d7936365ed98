//! Data safety under maintenance: prune must never delete a pack that a snapshot the binary
//! reported as saved needs. Each scenario ends the same way, whatever prune decided: every
//! saved snapshot restores byte-identical and `check --read-data` is clean (or prune refused
//! with a non-zero exit and deleted nothing).
//!
//! 1. One index file of the store is lost (a copy tool skipped it), the packs are older than
//!    prune's sweep age for packs no index names; then prune (with and without
//!    `repair index` first).
//! 2. A backup slower than prune's delete delay, while a prune runs every half second on the
//!    same store: the backup's intermediate index files name packs no snapshot uses yet.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::proxy::Proxy;
use common::servers::{garage, S3Server};
use common::{files_under, pseudo_random, unique, Env};

/// `count` files of `size` bytes each (distinct content), named `{tag}-{i:03}`.
fn write_files(dir: &Path, tag: &str, count: u64, size: usize, seed: u64) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        fs::write(
            dir.join(format!("{tag}-{i:03}")),
            pseudo_random(seed + i, size + i as usize * 7),
        )
        .unwrap();
    }
}

/// Files of `source` that `restored` lacks or holds with other bytes.
fn lost_files(source: &Path, restored: &Path) -> Vec<String> {
    let mut lost = Vec::new();
    for path in files_under(source) {
        let rel = path.strip_prefix(source).unwrap();
        let back = restored.join(rel);
        if fs::read(&back).ok() != Some(fs::read(&path).unwrap()) {
            lost.push(rel.to_string_lossy().into_owned());
        }
    }
    lost.sort();
    lost
}

/// Restores snapshot `id` of `store` into a new directory and runs `check --read-data`:
/// what went wrong, if anything (every file of `source` must come back byte-identical).
fn restore_and_check(env: &Env, store: &str, id: &str, source: &Path, out: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let r = env.restore(store, out, id);
    if r.code != 0 {
        problems.push(format!(
            "restore exited {}: {}",
            r.code,
            r.stderr
                .lines()
                .filter(|l| l.starts_with("kloset:"))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    let total = files_under(source).len();
    let lost = if out.exists() {
        lost_files(source, out)
    } else {
        files_under(source)
            .iter()
            .map(|p| {
                p.strip_prefix(source)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    if !lost.is_empty() {
        problems.push(format!(
            "{} of {total} files lost or different after restore: {lost:?}",
            lost.len()
        ));
    }
    let c = env.run(&["at", store, "check", "--read-data"]);
    if c.code != 0 {
        let first: Vec<&str> = c
            .stdout
            .lines()
            .chain(c.stderr.lines())
            .filter(|l| l.starts_with("problem:"))
            .collect();
        problems.push(format!(
            "check --read-data exited {}: {}",
            c.code,
            first.join(" | ")
        ));
    }
    problems
}

fn pack_files(store: &Path) -> Vec<PathBuf> {
    let mut packs = files_under(&store.join("packs"));
    packs.sort();
    packs
}

/// The index file written first: one a backup wrote after its first eight packs, which names
/// data packs only (the snapshot's trees stay findable, so prune can walk the snapshot).
fn first_index_file(store: &Path) -> PathBuf {
    let mut files: Vec<(SystemTime, PathBuf)> = files_under(&store.join("index"))
        .into_iter()
        .map(|p| (fs::metadata(&p).unwrap().modified().unwrap(), p))
        .collect();
    assert!(
        files.len() >= 2,
        "the backup should have written an intermediate index file: {files:?}"
    );
    files.sort();
    files.remove(0).1
}

/// One store, one backup, one index file deleted by hand, packs two days old; then `steps`.
/// Returns what went wrong.
fn lost_index_then(case: &str, steps: &[&[&str]]) -> Vec<String> {
    let env = Env::new();
    let store_path = env.path("store");
    let store = store_path.to_str().unwrap().to_string();
    env.create_small_packs(&store).ok();
    // 20 files, 19.4 MiB: six of 3 MiB (several chunks each) and fourteen of 100 KiB; well
    // over eight data packs, so the backup writes an index file after the first eight.
    let src = env.path("src");
    write_files(&src, "big", 6, 3 * 1024 * 1024, 1);
    write_files(&src, "small", 14, 100_000, 100);
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lost_index = first_index_file(&store_path);
    fs::remove_file(&lost_index).unwrap();
    // Older than any sweep age of packs no index names (max(delete delay, 6 h); 24 h default).
    let old = filetime::FileTime::from_system_time(
        SystemTime::now() - Duration::from_secs(2 * 24 * 3600),
    );
    for pack in pack_files(&store_path) {
        filetime::set_file_mtime(&pack, old).unwrap();
    }
    let before = pack_files(&store_path);
    let mut problems = Vec::new();
    for step in steps {
        let mut args = vec!["--json", "at", store.as_str()];
        args.extend_from_slice(step);
        let r = env.run(&args);
        let after = pack_files(&store_path);
        let gone = before.iter().filter(|p| !after.contains(p)).count();
        if step[0] == "prune" && r.code != 0 {
            // Refusing is allowed, deleting anything while refusing is not; the store is then
            // mended the way its error says.
            if gone > 0 {
                problems.push(format!(
                    "{case}: prune refused (exit {}) but deleted {gone} of {} packs",
                    r.code,
                    before.len()
                ));
            }
            env.run(&["at", &store, "repair", "index"]).ok();
        } else {
            assert_eq!(r.code, 0, "{case}: {step:?}: {}", r.stderr);
        }
        if step[0] == "prune" && gone > 0 {
            problems.push(format!(
                "{case}: prune deleted {gone} of {} packs ({})",
                before.len(),
                r.stdout.trim()
            ));
        }
    }
    problems.extend(
        restore_and_check(&env, &store, &id, &src, &env.path("out"))
            .into_iter()
            .map(|p| format!("{case}: {p}")),
    );
    problems
}

#[test]
fn prune_after_one_index_file_is_lost_keeps_every_pack_a_snapshot_needs() {
    let mut problems = Vec::new();
    problems.extend(lost_index_then("prune", &[&["prune"]]));
    problems.extend(lost_index_then(
        "prune --delete-delay 0",
        &[&["prune", "--delete-delay", "0"]],
    ));
    problems.extend(lost_index_then(
        "repair index, then prune --delete-delay 0",
        &[&["repair", "index"], &["prune", "--delete-delay", "0"]],
    ));
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn add_store(env: &Env, name: &str, server: &S3Server, prefix: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "store".to_string(),
        "add".into(),
        name.into(),
        format!("location={}", server.url(&server.bucket, prefix)),
    ];
    args.extend(server.credentials());
    args.extend(extra.iter().map(|s| s.to_string()));
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    format!("@{name}")
}

/// Request latency between the backup and the store (with `concurrency=2`, two requests in
/// flight): a slow link, not a knob in the binary.
const LATENCY: Duration = Duration::from_millis(250);
const PRUNE_EVERY: Duration = Duration::from_millis(500);
const DELETE_DELAY: &str = "2s";

/// One prune of the loop: when it ended (since the backup started), its exit code, packs it
/// marked and deleted.
#[derive(Debug)]
#[allow(dead_code)]
struct Prune {
    at: Duration,
    code: i32,
    marked: u64,
    deleted: u64,
}

#[test]
fn a_backup_slower_than_the_delete_delay_beside_a_periodic_prune_restores_whole() {
    let server = garage();
    let proxy = Proxy::start(&server.host);
    let env = Env::new();
    let prefix = unique("slow-backup");
    // One S3 store under two names: the backup goes through a slow link (the proxy), the
    // prunes straight to the server.
    let slow_server = S3Server {
        host: proxy.host.clone(),
        ..server.clone()
    };
    let slow = add_store(&env, "slow", &slow_server, &prefix, &["concurrency=2"]);
    let direct = add_store(&env, "direct", server, &prefix, &[]);
    env.create_small_packs(&direct).ok();
    // 150 files of about 300 KB (one chunk each): some 45 packs of 1 MiB, an intermediate
    // index file every eight. At about a quarter second a pack the backup takes some 10 s;
    // the first packs are indexed after 3 s or so, marked by the next prune and deleted by
    // the first prune 2 s later, seconds before the snapshot is committed.
    let src = env.path("src");
    write_files(&src, "f", 150, 300_000, 7);
    proxy.set_latency(LATENCY);
    let started = Instant::now();
    let backup = env.spawn(&["--json", "at", &slow, "backup", src.to_str().unwrap()]);
    let mut backup = Some(backup);
    let mut prunes = Vec::new();
    let deadline = started + Duration::from_secs(40);
    let mut result = None;
    for _ in 0..80 {
        let child = backup.as_mut().unwrap();
        if child.try_wait().unwrap().is_some() {
            result = Some(backup.take().unwrap().wait_with_output().unwrap());
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        let r = env.run(&[
            "--json",
            "at",
            &direct,
            "prune",
            "--delete-delay",
            DELETE_DELAY,
        ]);
        let (marked, deleted) = if r.code == 0 {
            let v = r.json();
            (
                v["packs_marked"].as_u64().unwrap(),
                v["packs_deleted"].as_u64().unwrap(),
            )
        } else {
            (0, 0)
        };
        prunes.push(Prune {
            at: started.elapsed(),
            code: r.code,
            marked,
            deleted,
        });
        std::thread::sleep(PRUNE_EVERY);
    }
    let took = started.elapsed();
    let Some(out) = result else {
        let mut child = backup.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        panic!("the backup did not end within {took:?}; prunes: {prunes:?}");
    };
    proxy.set_latency(Duration::ZERO);
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = snap["id"].as_str().unwrap().to_string();
    // The scenario holds only if the backup outlasted the delete delay by a few prunes.
    assert!(
        took > Duration::from_secs(4) && prunes.len() >= 4,
        "the backup was too quick to test anything: {took:?}, prunes {prunes:?}"
    );
    let deleted: u64 = prunes.iter().map(|p| p.deleted).sum();
    let problems = restore_and_check(&env, &direct, &id, &src, &env.path("out"));
    assert!(
        problems.is_empty(),
        "backup took {took:?} beside {} prunes (--delete-delay {DELETE_DELAY}) that deleted {deleted} packs: {prunes:?}\n{}",
        prunes.len(),
        problems.join("\n")
    );
}
