//! `sync` between a local store and one on Garage, with different passphrases: incremental,
//! resumable after SIGKILL at each commit step, `create --like` moving blobs as they are, and
//! every copy checked with `check --read-data` and byte-identical restores.

mod common;

use std::fs;

use common::servers::garage;
use common::{assert_same_tree, unique, Env, Run};
use serde_json::Value;

fn sync(env: &Env, at: &str, dir: &str, other: &str) -> Value {
    env.run(&["--json", "at", at, "sync", dir, other])
        .ok()
        .json()
}

fn count(v: &Value, field: &str) -> usize {
    v[field].as_array().unwrap().len()
}

fn killed_at(env: &Env, point: &str, args: &[&str]) {
    let mut cmd = env.command(args);
    cmd.env("KLOSET_KILL_AT", point);
    let status = cmd.status().unwrap();
    assert_eq!(
        status.code(),
        None,
        "{point}: expected a SIGKILL, got {status}"
    );
}

/// Restores `latest --source SRC` from `store` and compares it with `src`.
fn restores_same(env: &Env, store: &str, src: &std::path::Path, name: &str) {
    let out = env.path(name);
    let r: Run = env.run(&[
        "at",
        store,
        "restore",
        "-to",
        out.to_str().unwrap(),
        "latest",
        "--source",
        src.to_str().unwrap(),
    ]);
    r.ok();
    assert_same_tree(src, &out);
}

#[test]
fn sync_to_garage_and_back_with_other_passphrases_resumes_after_kills() {
    let mut env = Env::new();
    // Local stores here share one passphrase; the S3 store's is in the registry.
    env.extra_env
        .push(("KLOSET_OTHER_PASSPHRASE".into(), "correct horse".into()));
    let server = garage();
    let local = env.path("local").to_str().unwrap().to_string();
    env.create(&local).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    let src_s = src.to_str().unwrap();
    env.backup(&local, src_s);
    fs::write(src.join("docs/readme.txt"), "changed\n").unwrap();
    env.backup(&local, src_s);

    // The S3 store has its own passphrase, kept in the registry.
    let remote = common::add_s3(&env, "store", "remote", server, &unique("sync"), "");
    env.run(&["store", "set", "remote", "passphrase=another passphrase"])
        .ok();
    env.create(&remote).ok();
    let r = env
        .run(&["at", &local, "sync", "to", "/nonexistent/store"])
        .code(10);
    assert!(r.one_line_error().contains("create"), "{}", r.stderr);

    let first = sync(&env, &local, "to", &remote);
    assert_eq!(
        (count(&first, "copied"), first["same_ids"].clone()),
        (2, Value::Bool(false))
    );
    let again = sync(&env, &local, "to", &remote);
    assert_eq!(count(&again, "copied"), 0, "{again}");
    assert_eq!(count(&again, "already_there"), 2);
    assert_eq!(
        (again["read_bytes"].as_u64(), again["new_blobs"].as_u64()),
        (Some(0), Some(0))
    );
    let listed = env.run(&["--json", "at", &remote, "ls"]).ok().json();
    let local_list = env.run(&["--json", "at", &local, "ls"]).ok().json();
    for (a, b) in listed
        .as_array()
        .unwrap()
        .iter()
        .zip(local_list.as_array().unwrap())
    {
        for field in ["time", "host", "source", "source_key", "tags"] {
            assert_eq!(a["snapshot"][field], b["snapshot"][field], "{field} kept");
        }
    }

    // Killed after its packs and index, before any snapshot: the rerun uploads nothing new.
    fs::write(
        src.join("new-data.bin"),
        common::pseudo_random(77, 3_000_000),
    )
    .unwrap();
    env.backup(&local, src_s);
    killed_at(
        &env,
        "sync:uploaded",
        &["at", &local, "sync", "to", &remote],
    );
    let resumed = sync(&env, &local, "to", &remote);
    assert_eq!(count(&resumed, "copied"), 1, "{resumed}");
    assert_eq!(
        resumed["new_blobs"], 0,
        "data uploaded before the kill was sent again"
    );
    // Killed after the first of two snapshots: the rerun copies the other one only.
    fs::write(src.join("more.bin"), common::pseudo_random(78, 500_000)).unwrap();
    env.run(&["at", &local, "backup", "--tag", "a", src_s]).ok();
    env.run(&["at", &local, "backup", "--tag", "b", src_s]).ok();
    killed_at(
        &env,
        "sync:one-snapshot",
        &["at", &local, "sync", "to", &remote],
    );
    let resumed = sync(&env, &local, "to", &remote);
    assert_eq!(count(&resumed, "copied"), 1, "{resumed}");
    assert_eq!(count(&resumed, "already_there"), 4);
    env.run(&["at", &remote, "check", "--read-data"]).ok();
    restores_same(&env, &remote, &src, "from-remote");

    // Back down into a store made like the remote one: blobs move as they are.
    let back = env.path("back").to_str().unwrap().to_string();
    env.run(&[
        "at",
        &back,
        "create",
        "--like",
        &remote,
        "--kdf-memory-mib",
        "8",
        "--kdf-iterations",
        "1",
    ])
    .ok();
    let down = sync(&env, &back, "from", &remote);
    assert_eq!(
        (count(&down, "copied"), down["same_ids"].clone()),
        (5, Value::Bool(true))
    );
    // Blobs already there are not even read: a new snapshot that changes one small file
    // moves that file's bytes, not the snapshot's 20 MiB.
    fs::write(src.join("docs/readme.txt"), "changed again\n").unwrap();
    env.backup(&local, src_s);
    assert_eq!(count(&sync(&env, &local, "to", &remote), "copied"), 1);
    let small = sync(&env, &back, "from", &remote);
    assert_eq!(count(&small, "copied"), 1);
    assert!(small["read_bytes"].as_u64().unwrap() < 100_000, "{small}");
    assert_eq!(count(&sync(&env, &back, "to", &remote), "copied"), 0);
    assert_eq!(count(&sync(&env, &local, "from", &back), "copied"), 0);
    env.run(&["at", &back, "check", "--read-data"]).ok();
    restores_same(&env, &back, &src, "from-back");
    // Only some snapshots, by filter.
    let picky = env.path("picky").to_str().unwrap().to_string();
    env.create(&picky).ok();
    let tagged = sync_with(&env, &local, &picky, &["--tag", "b"]);
    assert_eq!(count(&tagged, "copied"), 1);
    let tags = env.run(&["--json", "at", &picky, "ls"]).ok().json()[0]["tags"].clone();
    assert_eq!(tags, serde_json::json!(["b"]));
}

fn sync_with(env: &Env, at: &str, other: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "at", at, "sync", "to", other];
    args.extend(extra);
    env.run(&args).ok().json()
}

/// Local stores in these tests share one passphrase.
fn env_with_other_passphrase() -> Env {
    let mut env = Env::new();
    env.extra_env
        .push(("KLOSET_OTHER_PASSPHRASE".into(), "correct horse".into()));
    env
}

fn snapshot_count(env: &Env, store: &str) -> usize {
    env.run(&["--json", "at", store, "ls"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn two_syncs_at_once_leave_one_copy_of_each_snapshot() {
    let env = env_with_other_passphrase();
    let from = env.local_store();
    let src = env.path("src");
    for round in 0..2u64 {
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("f"), common::pseudo_random(round, 300_000)).unwrap();
        env.backup(&from, src.to_str().unwrap());
    }
    for round in 0..3 {
        let to = env
            .path(&format!("to-{round}"))
            .to_str()
            .unwrap()
            .to_string();
        env.create(&to).ok();
        let a = env.spawn(&["--quiet", "at", &from, "sync", "to", &to]);
        let b = env.spawn(&["--quiet", "at", &from, "sync", "to", &to]);
        for mut child in [a, b] {
            assert!(child.wait().unwrap().success());
        }
        assert_eq!(snapshot_count(&env, &to), 2, "round {round}");
        // The older restore point survives a forget that keeps two.
        env.run(&["at", &to, "forget", "--keep-last", "2"]).ok();
        assert_eq!(snapshot_count(&env, &to), 2, "round {round}");
        env.run(&["at", &to, "check", "--read-data"]).ok();
    }
}

#[test]
fn a_damaged_snapshot_costs_only_itself_and_the_others_are_copied() {
    let env = env_with_other_passphrase();
    let from = env.local_store();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("old"), common::pseudo_random(1, 200_000)).unwrap();
    env.backup(&from, src.to_str().unwrap());
    let packs = std::path::Path::new(&from).join("packs");
    let before: std::collections::HashSet<_> = common::files_under(&packs).into_iter().collect();
    fs::write(src.join("new"), common::pseudo_random(2, 400_000)).unwrap();
    env.backup(&from, src.to_str().unwrap());
    // Every pack the second backup wrote is damaged: only that snapshot needs them.
    for pack in common::files_under(&packs) {
        if !before.contains(&pack) {
            let mut bytes = fs::read(&pack).unwrap();
            bytes[20] ^= 0xff;
            fs::write(&pack, bytes).unwrap();
        }
    }
    let to = env.path("to").to_str().unwrap().to_string();
    env.create(&to).ok();
    let r = env.run(&["at", &from, "sync", "to", &to]).code(5);
    assert!(r.stderr.contains("could not be copied"), "{}", r.stderr);
    assert_eq!(snapshot_count(&env, &to), 1);
    env.run(&["at", &to, "check", "--read-data"]).ok();
    fs::remove_file(src.join("new")).unwrap();
    let out = env.path("out");
    env.restore(&to, &out, "latest").ok();
    assert_same_tree(&src, &out);
}
