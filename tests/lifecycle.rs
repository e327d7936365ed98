//! Removing snapshots: `rm` by id, `forget` by a retention policy (restic's rules), grouped by
//! host and source; `backup --host/--time` to record history. Only snapshot objects go; every
//! snapshot left restores byte-identical and `check --read-data` stays clean.

mod common;

use std::fs;

use common::Env;

fn ids(env: &Env, store: &str) -> Vec<String> {
    let v = env.run(&["--json", "at", store, "ls"]).ok().json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn forget_keeps_what_the_policy_says_per_host_and_source_and_rm_removes_by_id() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let src_s = src.to_str().unwrap();
    let mut by_day = Vec::new();
    for (day, host) in [
        (1, "web1"),
        (1, "web1"),
        (2, "web1"),
        (3, "web1"),
        (3, "web2"),
    ] {
        fs::write(src.join("f"), format!("day {day} on {host}")).unwrap();
        let time = format!("2024-01-0{day} 1{}:00:00", by_day.len());
        let v = env
            .run(&[
                "--json", "at", &store, "backup", "--host", host, "--time", &time, src_s,
            ])
            .ok()
            .json();
        by_day.push(v["id"].as_str().unwrap().to_string());
    }
    // Filters: listings and `latest` take --host/--tag/--source.
    let web2 = env
        .run(&["--json", "at", &store, "ls", "--host", "web2"])
        .ok()
        .json();
    assert_eq!(web2.as_array().unwrap().len(), 1, "{web2}");
    let out = env.path("latest-web1");
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        out.to_str().unwrap(),
        "latest",
        "--host",
        "web1",
    ])
    .ok();
    assert_eq!(fs::read(out.join("f")).unwrap(), b"day 3 on web1");
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        "/tmp/never",
        "latest",
        "--host",
        "web9",
    ])
    .code(14);
    // No policy: one line, exit 2, nothing removed.
    let r = env.run(&["at", &store, "forget"]).code(2);
    assert!(r.one_line_error().contains("--keep-last"), "{}", r.stderr);
    // A dry run lists, removes nothing.
    let v = env
        .run(&[
            "--json",
            "at",
            &store,
            "forget",
            "--keep-daily",
            "2",
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(v.as_array().unwrap().len(), 2, "two hosts, two groups: {v}");
    assert_eq!(ids(&env, &store).len(), 5);
    // web1 keeps the newest of its two newest days (days 3 and 2); web2 keeps its only one.
    let out = env
        .run(&["at", &store, "forget", "--keep-daily", "2"])
        .ok()
        .stdout;
    assert!(out.contains("daily snapshot"), "{out}");
    let left = ids(&env, &store);
    let mut want = vec![by_day[2].clone(), by_day[3].clone(), by_day[4].clone()];
    want.sort();
    let mut got = left.clone();
    got.sort();
    assert_eq!(got, want);
    // --host narrows what forget considers.
    env.run(&["at", &store, "forget", "--keep-last", "1", "--host", "web1"])
        .ok();
    assert_eq!(ids(&env, &store).len(), 2);
    // rm by id prefix; an unknown id is its own exit code.
    env.run(&["at", &store, "rm", &by_day[4][..8]]).ok();
    assert_eq!(ids(&env, &store), vec![by_day[3].clone()]);
    env.run(&["at", &store, "rm", "00000000"]).code(14);
    // What is left is whole.
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out");
    env.restore(&store, &out, &by_day[3]).ok();
    assert_eq!(fs::read(out.join("f")).unwrap(), b"day 3 on web1");
    let bad = env
        .run(&["at", &store, "backup", "--time", "yesterday", src_s])
        .code(2);
    assert!(
        bad.one_line_error().contains("YYYY-MM-DD"),
        "{}",
        bad.stderr
    );
}

/// A store of 1 MiB packs.
fn small_pack_store(env: &Env) -> String {
    let store = env.path("store").to_str().unwrap().to_string();
    env.create_small_packs(&store).ok();
    store
}

fn write_tree(dir: &std::path::Path, seeds: impl Fn(u64) -> u64) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..30u64 {
        fs::write(
            dir.join(format!("f{i:02}")),
            common::pseudo_random(seeds(i), 60_000),
        )
        .unwrap();
    }
}

fn backup_id(env: &Env, store: &str, dir: &std::path::Path) -> String {
    env.backup(store, dir.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn store_size(dir: &std::path::Path) -> u64 {
    common::files_under(dir)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn forget_and_prune_bring_the_store_within_ten_percent_of_a_fresh_one() {
    let env = Env::new();
    let store = small_pack_store(&env);
    let src = env.path("src");
    write_tree(&src, |i| i);
    backup_id(&env, &store, &src);
    write_tree(&src, |i| if i < 15 { i + 100 } else { i });
    backup_id(&env, &store, &src);
    write_tree(&src, |i| if i < 15 { i + 100 } else { i + 200 });
    let last = backup_id(&env, &store, &src);
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    let before = store_size(std::path::Path::new(&store));
    let dry = env
        .run(&[
            "--json",
            "at",
            &store,
            "prune",
            "--dry-run",
            "--delete-delay",
            "0",
        ])
        .ok()
        .json();
    assert!(dry["packs_deleted"].as_u64().unwrap() > 0, "{dry}");
    assert_eq!(
        store_size(std::path::Path::new(&store)),
        before,
        "a dry run changes nothing"
    );
    let r = env.prune_now_json(&store);
    assert!(r["bytes_freed"].as_u64().unwrap() > 0, "{r}");
    let fresh_env = Env::new();
    let fresh = small_pack_store(&fresh_env);
    fresh_env.backup(&fresh, src.to_str().unwrap());
    let (pruned, fresh) = (
        store_size(std::path::Path::new(&store)),
        store_size(std::path::Path::new(&fresh)),
    );
    assert!(
        pruned * 10 <= fresh * 11,
        "pruned {pruned} against fresh {fresh}"
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out");
    env.restore(&store, &out, &last).ok();
    common::assert_same_tree(&src, &out);
    // Bad input: one line, exit 2.
    let bad = env
        .run(&["at", &store, "prune", "--max-unused", "five"])
        .code(2);
    assert!(
        bad.one_line_error().contains("percentage"),
        "{}",
        bad.stderr
    );
}

#[test]
fn prune_marks_first_deletes_later_and_keeps_what_a_late_snapshot_needs() {
    let env = Env::new();
    let store = small_pack_store(&env);
    let (old, new) = (env.path("old"), env.path("new"));
    write_tree(&old, |i| i);
    write_tree(&new, |i| i + 1000);
    let a = backup_id(&env, &store, &old);
    let b = backup_id(&env, &store, &new);
    let snap_a = std::path::Path::new(&store).join("snapshots").join(&a);
    let saved_a = fs::read(&snap_a).unwrap();
    env.run(&["at", &store, "rm", &a]).ok();
    // Phase one: with a delay, packs are only marked.
    let packs_before = common::files_under(&std::path::Path::new(&store).join("packs")).len();
    let r = env
        .run(&["--json", "at", &store, "prune", "--delete-delay", "24h"])
        .ok()
        .json();
    assert!(r["packs_marked"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["packs_deleted"].as_u64().unwrap(), 0, "{r}");
    assert_eq!(
        common::files_under(&std::path::Path::new(&store).join("packs")).len(),
        packs_before
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
    // A backup that loaded the index before the marks commits a snapshot needing them (here:
    // snapshot A put back). The next prune withdraws the marks instead of deleting.
    fs::write(&snap_a, saved_a).unwrap();
    let r = env
        .run(&["--json", "at", &store, "prune", "--delete-delay", "0"])
        .ok()
        .json();
    assert!(r["packs_recovered"].as_u64().unwrap() > 0, "{r}");
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out-a");
    env.restore(&store, &out, &a).ok();
    common::assert_same_tree(&old, &out);
    // A backup after the marks saves their blobs anew rather than refer to them.
    env.run(&["at", &store, "rm", &a]).ok();
    env.run(&["at", &store, "prune", "--delete-delay", "24h"])
        .ok();
    let again = env.backup(&store, old.to_str().unwrap());
    assert!(
        again["snapshot"]["summary"]["new_bytes"].as_u64().unwrap() > 1_000_000,
        "{again}"
    );
    let c = again["id"].as_str().unwrap().to_string();
    env.run(&["at", &store, "prune", "--delete-delay", "0"])
        .ok();
    let markers = std::path::Path::new(&store).join("retiring");
    assert!(!markers.exists() || common::files_under(&markers).is_empty());
    env.run(&["at", &store, "check", "--read-data"]).ok();
    for (id, dir, name) in [(&b, &new, "out-b"), (&c, &old, "out-c")] {
        let out = env.path(name);
        env.restore(&store, &out, id).ok();
        common::assert_same_tree(dir, &out);
    }
}

#[test]
fn a_prune_killed_at_any_step_leaves_a_sound_store_and_the_next_one_finishes() {
    let mut env = Env::new();
    let store = small_pack_store(&env);
    let src = env.path("src");
    let mut last = String::new();
    for (round, point) in [
        "prune:copied",
        "prune:marked",
        "prune:index-written",
        "prune:old-index-deleted",
        "prune:pack-deleted",
    ]
    .iter()
    .enumerate()
    {
        // New garbage each round: half the files change.
        write_tree(&src, |i| {
            if i % 2 == round as u64 % 2 {
                i + 100 * round as u64
            } else {
                i
            }
        });
        last = backup_id(&env, &store, &src);
        env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
        env.extra_env
            .push(("KLOSET_KILL_AT".into(), point.to_string()));
        let r = env.prune_now(&store);
        env.extra_env.pop();
        assert_eq!(r.code, -1, "killed at {point}: {}", r.stderr);
        env.run(&["at", &store, "check", "--read-data"]).ok();
        let out = env.path(&format!("out-{round}"));
        env.restore(&store, &out, &last).ok();
        common::assert_same_tree(&src, &out);
    }
    env.prune_now(&store).ok();
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out-final");
    env.restore(&store, &out, &last).ok();
    common::assert_same_tree(&src, &out);
}

#[test]
fn several_passphrases_open_one_store_and_the_last_key_cannot_go() {
    let mut env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    let id = backup_id(&env, &store, &src);
    let keys = |env: &Env| {
        env.run(&["--json", "at", &store, "key", "list"])
            .ok()
            .json()
    };
    let listed = keys(&env);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "config");
    assert_eq!(listed[0]["in_use"], true);
    // A second passphrase.
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "second".into()));
    env.run(&["at", &store, "key", "add"]).ok();
    env.extra_env.pop();
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "second".into()));
    let listed = keys(&env);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed[0]["in_use"], false, "{listed}");
    assert_eq!(listed[1]["in_use"], true, "{listed}");
    // The creating passphrase can go (the config is rewritten without it) ...
    env.run(&["at", &store, "key", "rm", "config"]).ok();
    // ... and then the last key cannot.
    let name = keys(&env)[0]["name"].as_str().unwrap().to_string();
    let r = env.run(&["at", &store, "key", "rm", &name[..8]]).code(2);
    assert!(r.one_line_error().contains("only key"), "{}", r.stderr);
    env.extra_env.pop();
    env.run(&["at", &store, "ls"]).code(12);
    // A passwd killed between its two steps leaves both passphrases working.
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "second".into()));
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "interim".into()));
    env.extra_env
        .push(("KLOSET_KILL_AT".into(), "key:added".into()));
    assert_eq!(env.run(&["at", &store, "key", "passwd"]).code, -1);
    env.extra_env.truncate(env.extra_env.len() - 2);
    env.run(&["at", &store, "ls"]).ok();
    env.extra_env.pop();
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "interim".into()));
    env.run(&["at", &store, "check"]).ok();
    env.extra_env.pop();
    // passwd: the new passphrase opens the store, the old one no longer does.
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "second".into()));
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "third".into()));
    env.run(&["at", &store, "key", "passwd"]).ok();
    env.run(&["at", &store, "ls"]).code(12);
    env.extra_env.clear();
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "third".into()));
    // The key in use goes only with --force, and only while another remains.
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "fourth".into()));
    env.run(&["at", &store, "key", "add"]).ok();
    let in_use = keys(&env)
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["in_use"] == true)
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let r = env.run(&["at", &store, "key", "rm", &in_use[..8]]).code(2);
    assert!(r.one_line_error().contains("--force"), "{}", r.stderr);
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();
    common::assert_same_tree(&src, &out);
}

#[test]
fn check_reads_a_rotating_slice_or_a_share_of_the_packs() {
    let env = Env::new();
    let store = small_pack_store(&env);
    let src = env.path("src");
    write_tree(&src, |i| i);
    backup_id(&env, &store, &src);
    let read = |args: &[&str]| {
        let mut all = vec!["--json", "at", &store, "check"];
        all.extend_from_slice(args);
        env.run(&all).ok().json()["blobs_read"].as_u64().unwrap()
    };
    let total = read(&["--read-data"]);
    assert!(total > 30);
    let slices: u64 = ["1/3", "2/3", "3/3"]
        .iter()
        .map(|s| read(&["--read-data-subset", s]))
        .sum();
    assert_eq!(slices, total);
    assert_eq!(read(&["--read-data-subset", "100%"]), total);
    for bad in ["0/3", "4/3", "0%", "half"] {
        let r = env
            .run(&["at", &store, "check", "--read-data-subset", bad])
            .code(2);
        assert!(r.one_line_error().contains("1/10"), "{}", r.stderr);
    }
}
