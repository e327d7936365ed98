//! The end-to-end suite every store kind must pass: round trip, incremental, errors, and a
//! backup killed part way through. `store` is what follows `at` (a path, or `@name`).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{assert_same_tree, make_fixture, pseudo_random, Env};

fn snapshot_ids(env: &Env, store: &str) -> Vec<String> {
    let v = env.run(&["--json", "at", store, "ls"]).ok().json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn round_trip(env: &Env, store: &str) {
    let src = env.path("src");
    make_fixture(&src);
    env.create(store).ok();
    let snap = env.backup(store, src.to_str().unwrap());
    let id = snap["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(snap["snapshot"]["summary"]["files"], 48);
    assert_eq!(snap["snapshot"]["summary"]["errors"], 0);

    let out = env.path("out");
    env.restore(store, &out, &id[..8]).ok();
    assert_same_tree(&src, &out);

    // A sub-tree, with --to spelled the long way.
    let sub = env.path("out-sub");
    let spec = format!("{}:/docs/nested", &id[..10]);
    env.run(&["at", store, "restore", "--to", sub.to_str().unwrap(), &spec])
        .ok();
    assert_same_tree(&src.join("docs/nested"), &sub);

    // A single file lands under its own name.
    let one = env.path("out-one");
    let spec = format!("{id}:/big.bin");
    env.restore(store, &one, &spec).ok();
    assert_eq!(
        fs::read(one.join("big.bin")).unwrap(),
        fs::read(src.join("big.bin")).unwrap()
    );

    // Browsing inside the snapshot.
    let listing = env
        .run(&["at", store, "ls", &format!("{}:/données", &id[..8])])
        .ok()
        .stdout;
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        vec!["café ☕.md", "日本語/"]
    );
    let nodes = env
        .run(&[
            "--json",
            "at",
            store,
            "ls",
            &format!("{}:/docs/readme.txt", &id[..8]),
        ])
        .ok()
        .json();
    assert_eq!(nodes[0]["size"], 13);
    assert_eq!(nodes[0]["mode"], 0o640);

    // The snapshot list shows it, and info describes store and snapshot.
    let ls = env.run(&["at", store, "ls"]).ok().stdout;
    assert!(ls.contains(&id[..8]), "{ls}");
    let info = env.run(&["--json", "at", store, "info"]).ok().json();
    assert_eq!(info["snapshots"], 1);
    let info = env
        .run(&["--json", "at", store, "info", &id[..8]])
        .ok()
        .json();
    assert_eq!(info["snapshot"]["summary"]["files"], 48);
    let check = env
        .run(&["--json", "at", store, "check", "--read-data"])
        .ok()
        .json();
    assert_eq!(check["problems"].as_array().unwrap().len(), 0);
    assert!(check["blobs_read"].as_u64().unwrap() > 40);
}

pub fn incremental(env: &Env, store: &str) {
    let src = env.path("src");
    make_fixture(&src);
    env.create(store).ok();
    let first = env.backup(store, src.to_str().unwrap());
    assert_eq!(first["snapshot"]["summary"]["files_read"], 48);

    let second = env.backup(store, src.to_str().unwrap());
    let s = &second["snapshot"]["summary"];
    assert_eq!(s["files_read"], 0, "unchanged files must not be read: {s}");
    assert_eq!(s["new_bytes"], 0);
    assert_eq!(second["snapshot"]["parent"], first["id"]);

    // Same size, new content and a restored mtime: ctime still changes, so it is re-read.
    let victim = src.join("docs/nested/deeper/random.bin");
    let before = fs::symlink_metadata(&victim).unwrap();
    fs::write(&victim, pseudo_random(99, 300_000)).unwrap();
    filetime::set_file_mtime(
        &victim,
        filetime::FileTime::from_last_modification_time(&before),
    )
    .unwrap();
    fs::write(src.join("docs/new-file"), b"added later").unwrap();
    let third = env.backup(store, src.to_str().unwrap());
    let s = &third["snapshot"]["summary"];
    assert_eq!(s["files_read"], 2, "{s}");
    assert_eq!(s["files"], 49);

    let out = env.path("out");
    let id = third["id"].as_str().unwrap();
    env.restore(store, &out, id).ok();
    assert_same_tree(&src, &out);
    // The first snapshot still restores the old content.
    let old = env.path("out-old");
    env.restore(store, &old, first["id"].as_str().unwrap()).ok();
    assert_ne!(
        fs::read(old.join("docs/nested/deeper/random.bin")).unwrap(),
        fs::read(&victim).unwrap()
    );
    assert!(!old.join("docs/new-file").exists());
}

/// `uninitialised` is a second store location that was never created.
pub fn errors(env: &Env, store: &str, uninitialised: &str) {
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();

    let r = env.run(&["at", uninitialised, "ls"]).code(10);
    assert!(r.one_line_error().contains("create"), "{}", r.stderr);
    let r = env
        .run(&["at", uninitialised, "backup", src.to_str().unwrap()])
        .code(10);
    assert!(r.one_line_error().contains("not initialised"));

    env.create(store).ok();
    let r = env.create(store).code(11);
    assert!(r.one_line_error().contains("already initialised"));

    let r = env
        .command(&["at", store, "ls"])
        .env("KLOSET_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(12));
    assert!(String::from_utf8_lossy(&r.stderr).contains("wrong passphrase"));

    let r = env
        .command(&["at", store, "ls"])
        .env_remove("KLOSET_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(13),
        "no terminal, no passphrase: {}",
        String::from_utf8_lossy(&r.stderr)
    );

    // Enough snapshots that two must share a first hex digit.
    let mut ids = Vec::new();
    for i in 0..17 {
        fs::write(src.join("f"), format!("version {i}")).unwrap();
        ids.push(
            env.backup(store, src.to_str().unwrap())["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let shared = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|id| id.starts_with(p.as_str())).count() >= 2)
        .unwrap();
    let r = env
        .run(&["at", store, "ls", &format!("{shared}:/")])
        .code(15);
    assert!(r.one_line_error().contains("ambiguous"));
    let r = env.run(&[
        "at",
        store,
        "restore",
        "-to",
        env.path("x").to_str().unwrap(),
        "ffffffffffff",
    ]);
    if !ids.iter().any(|id| id.starts_with("ffffffffffff")) {
        r.code(14).one_line_error();
    }

    let target = env.path("occupied");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("keep-me"), b"precious").unwrap();
    let r = env.restore(store, &target, &ids[0]).code(16);
    assert!(r.one_line_error().contains("--force"));
    assert_eq!(fs::read(target.join("keep-me")).unwrap(), b"precious");
    env.restore_forced(store, &target, &ids[16]).ok();
    assert_eq!(fs::read(target.join("f")).unwrap(), b"version 16");

    let r = env
        .run(&[
            "at",
            store,
            "backup",
            env.path("does-not-exist").to_str().unwrap(),
        ])
        .code(2);
    r.one_line_error();
}

/// `pack_count` observes the store so the kill lands while packs are being written.
pub fn killed_backup(env: &Env, store: &str, pack_count: &dyn Fn() -> usize) {
    let src = env.path("src");
    make_fixture(&src);
    env.create(store).ok();
    let first = env.backup(store, src.to_str().unwrap());
    let first_id = first["id"].as_str().unwrap().to_string();

    let bulk = src.join("bulk");
    fs::create_dir_all(&bulk).unwrap();
    for i in 0..12 {
        fs::write(
            bulk.join(format!("part-{i}")),
            pseudo_random(1000 + i, 8 * 1024 * 1024),
        )
        .unwrap();
    }
    let before = pack_count();
    let mut child = env
        .command(&["at", store, "backup", src.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while pack_count() < before + 2 && Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "the backup finished before it could be killed"
    );

    // Earlier snapshots are intact and nothing half-written shows up.
    assert_eq!(snapshot_ids(env, store), vec![first_id.clone()]);
    let out = env.path("out-first");
    env.restore(store, &out, &first_id).ok();
    fs::rename(&bulk, env.path("bulk-aside")).unwrap();
    assert_same_tree(&src, &out);
    fs::rename(env.path("bulk-aside"), &bulk).unwrap();
    env.run(&["at", store, "check"]).ok();

    // A new backup completes and restores exactly.
    let again = env.backup(store, src.to_str().unwrap());
    let out = env.path("out-again");
    env.restore(store, &out, again["id"].as_str().unwrap()).ok();
    assert_same_tree(&src, &out);
    env.run(&["at", store, "check", "--read-data"]).ok();
}

pub fn count_files(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| {
            if e.path().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}
