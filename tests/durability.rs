//! Local stores are durable: every object is written to a temporary file, synced, renamed
//! into place and its directory synced, packs before index files before the snapshot. Seen
//! from outside with strace, as the issue counted it; and the config's rewrite keeps the
//! previous config until the new one verifies.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::Env;

/// What strace saw, in order: a completed fsync/fdatasync of a path, or a rename (from, to).
#[derive(Debug, PartialEq)]
enum Event {
    Synced(String),
    Renamed(String, String),
}

fn strace() -> &'static str {
    const STRACE: &str = "strace";
    let found = Command::new(STRACE)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "strace is missing: install it ('apt-get install strace', or 'scripts/s3-server install')"
    );
    STRACE
}

/// Runs kloset under strace and returns the fsyncs and renames it made.
fn traced(env: &Env, args: &[&str]) -> Vec<Event> {
    let log = env.path("strace.log");
    let kloset = env.command(args);
    let mut cmd = Command::new(strace());
    cmd.args(["-f", "-y", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2",
            "--",
        ])
        .arg(kloset.get_program())
        .args(kloset.get_args())
        .stdin(std::process::Stdio::null());
    for (k, v) in kloset.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("run strace");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&fs::read_to_string(&log).unwrap())
}

/// strace -f -y lines: `PID fsync(5</p/x#1>) = 0`, `PID rename("/a", "/b") = 0`,
/// `PID renameat2(AT_FDCWD, "/a", AT_FDCWD, "/b", RENAME_NOREPLACE) = 0`, and calls split
/// across threads: `PID fsync(5</p> <unfinished ...>` ... `PID <... fsync resumed>) = 0`.
fn parse(log: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut pending: HashMap<&str, String> = HashMap::new();
    for line in log.lines() {
        let Some((pid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if call.starts_with("<... fsync resumed>") || call.starts_with("<... fdatasync resumed>") {
            if let Some(path) = pending.remove(pid) {
                if call.ends_with("= 0") {
                    events.push(Event::Synced(path));
                }
            }
        } else if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            let path = between(call, '<', '>').unwrap_or_default().to_string();
            if call.ends_with("<unfinished ...>") {
                pending.insert(pid, path);
            } else if call.ends_with("= 0") {
                events.push(Event::Synced(path));
            }
        } else if call.starts_with("rename") {
            let quoted: Vec<&str> = call.split('"').skip(1).step_by(2).collect();
            if let [from, to, ..] = quoted[..] {
                events.push(Event::Renamed(from.to_string(), to.to_string()));
            }
        }
    }
    events
}

fn between(s: &str, open: char, close: char) -> Option<&str> {
    let start = s.find(open)? + 1;
    let end = start + s[start..].find(close)?;
    Some(&s[start..end])
}

fn small_tree(root: &Path) {
    for d in 0..3 {
        let dir = root.join(format!("d{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..4 {
            let data = common::pseudo_random(d * 10 + f, 400_000);
            fs::write(dir.join(format!("f{f}")), data).unwrap();
        }
    }
}

#[test]
fn every_object_is_synced_before_its_rename_and_its_directory_after() {
    let env = Env::new();
    let store = env.path("store");
    let store_s = store.to_str().unwrap();
    env.create_small_packs(store_s).ok();
    let src = env.path("src");
    small_tree(&src);
    let events = traced(&env, &["at", store_s, "backup", src.to_str().unwrap()]);

    let renamed: Vec<(usize, &str, &str)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Event::Renamed(from, to) => Some((i, from.as_str(), to.as_str())),
            _ => None,
        })
        .collect();
    let under = |kind: &str| -> Vec<(usize, &str, &str)> {
        let prefix = format!("{store_s}/{kind}/");
        renamed
            .iter()
            .filter(|(_, _, to)| to.starts_with(&prefix))
            .copied()
            .collect()
    };
    let (packs, index, snapshots) = (under("packs"), under("index"), under("snapshots"));
    assert!(packs.len() >= 3, "several 1 MiB packs: {events:#?}");
    assert!(!index.is_empty() && snapshots.len() == 1, "{events:#?}");
    let synced_at = |path: &str, range: std::ops::Range<usize>| {
        events[range]
            .iter()
            .any(|e| *e == Event::Synced(path.to_string()))
    };
    for (i, from, to) in packs.iter().chain(&index).chain(&snapshots) {
        assert!(
            synced_at(from, 0..*i),
            "{to} was renamed from {from} before that was synced"
        );
        let dir = Path::new(to).parent().unwrap().to_str().unwrap();
        assert!(
            synced_at(dir, *i..events.len()),
            "{dir} was not synced after {to} was renamed into it"
        );
    }
    assert!(
        synced_at(&format!("{store_s}/packs"), 0..events.len()),
        "new pack directories are made durable in packs/"
    );
    let last_pack = packs.iter().map(|p| p.0).max().unwrap();
    let last_index = index.iter().map(|p| p.0).max().unwrap();
    let snapshot = snapshots[0].0;
    assert!(last_pack < last_index, "an index file follows every pack");
    assert!(
        last_index < snapshot,
        "the snapshot is renamed into place after every pack and index file"
    );
}

#[test]
fn key_rm_config_syncs_the_new_config_and_removes_the_kept_copy() {
    let mut env = Env::new();
    let store = env.path("store");
    let store_s = store.to_str().unwrap().to_string();
    env.create(&store_s).ok();
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "second".into()));
    env.run(&["at", &store_s, "key", "add"]).ok();
    env.extra_env.pop();
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "second".into()));
    let events = traced(&env, &["at", &store_s, "key", "rm", "config"]);
    let config = format!("{store_s}/config");
    let at = events
        .iter()
        .position(|e| matches!(e, Event::Renamed(_, to) if *to == config))
        .expect("the config is renamed into place");
    let Event::Renamed(from, _) = &events[at] else {
        unreachable!()
    };
    assert!(
        events[..at].contains(&Event::Synced(from.clone())),
        "{events:#?}"
    );
    assert!(
        events[at..].contains(&Event::Synced(store_s.clone())),
        "{events:#?}"
    );
    let previous = format!("{store_s}/config.previous");
    let kept = events
        .iter()
        .position(|e| matches!(e, Event::Renamed(_, to) if *to == previous))
        .expect("the previous config is kept first");
    assert!(kept < at);
    assert!(
        !store.join("config.previous").exists(),
        "removed once verified"
    );
    let text = fs::read_to_string(store.join("config")).unwrap();
    assert!(text.contains("\"master_key\": \"\""), "{text}");
    env.run(&["at", &store_s, "ls"]).ok();
}

#[test]
fn a_config_rewrite_killed_midway_leaves_a_store_that_opens() {
    let mut env = Env::new();
    let store = env.path("store");
    let store_s = store.to_str().unwrap().to_string();
    env.create(&store_s).ok();
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "second".into()));
    env.run(&["at", &store_s, "key", "add"]).ok();
    env.extra_env.pop();
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "second".into()));
    for point in ["config:previous-kept", "config:rewritten"] {
        env.extra_env.push(("KLOSET_KILL_AT".into(), point.into()));
        let r = env.run(&["at", &store_s, "key", "rm", "config"]);
        env.extra_env.pop();
        if point == "config:previous-kept" {
            assert_eq!(r.code, -1, "killed at {point}: {}", r.stderr);
            assert!(store.join("config.previous").exists());
            env.run(&["at", &store_s, "ls"]).ok();
        }
    }
    // Killed after the rewrite (or already done): the new config is in place and opens.
    env.run(&["at", &store_s, "ls"]).ok();
    env.run(&["at", &store_s, "key", "list"]).ok();
}

#[test]
fn a_store_whose_config_is_lost_or_damaged_opens_with_the_kept_previous_one() {
    let env = Env::new();
    let store = env.path("store");
    let store_s = store.to_str().unwrap();
    env.create(store_s).ok();
    let src = env.path("src");
    small_tree(&src);
    env.run(&["at", store_s, "backup", src.to_str().unwrap()])
        .ok();
    let good = fs::read_to_string(store.join("config")).unwrap();
    fs::write(store.join("config.previous"), &good).unwrap();

    // Altered: the mac no longer verifies.
    let altered = good.replacen("\"pack_size\": 4194304", "\"pack_size\": 8388608", 1);
    assert_ne!(altered, good);
    fs::write(store.join("config"), &altered).unwrap();
    let r = env.run(&["at", store_s, "ls"]).ok();
    assert!(r.stderr.contains("config.previous"), "{}", r.stderr);

    // Not JSON.
    fs::write(store.join("config"), "{ torn").unwrap();
    let r = env.run(&["at", store_s, "check"]).ok();
    assert!(r.stderr.contains("config.previous"), "{}", r.stderr);

    // Gone.
    fs::remove_file(store.join("config")).unwrap();
    env.run(&["at", store_s, "ls"]).ok();

    // Without the copy, a damaged config is still an integrity error.
    fs::write(store.join("config"), &altered).unwrap();
    fs::remove_file(store.join("config.previous")).unwrap();
    env.run(&["at", store_s, "ls"]).code(17);
}
