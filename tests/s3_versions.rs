//! A bucket's whole history, against moto on 127.0.0.1: every version and delete marker of
//! each key backed up with `versions=all`, with ACLs, Object Lock state and checksums; replayed
//! into a versioned bucket; restored as it stood at a time between the writes. Buckets are
//! filled and read with boto3 (tests/tools/s3tool.py), independent of kloset.

mod common;

use common::servers::{moto, S3Server};
use common::{unique, Env};
use serde_json::Value;

fn json(server: &S3Server, args: &[&str]) -> Value {
    serde_json::from_str(&server.tool(args)).unwrap()
}

fn add_with(env: &Env, role: &str, name: &str, server: &S3Server, bucket: &str, extra: &[&str]) {
    let mut args = vec![
        role.to_string(),
        "add".into(),
        name.into(),
        format!("location={}", server.url(bucket, "")),
    ];
    args.extend(server.credentials());
    args.extend(extra.iter().map(|s| s.to_string()));
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
}

fn md5_hex(data: &[u8]) -> String {
    use std::process::Command;
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.md5(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_versioned_bucket_round_trips_with_its_history_acls_lock_state_and_checksums() {
    let env = Env::new();
    let server = moto();
    let src = unique("vsrc");
    let middle = server.tool(&["history", &src]).trim().to_string();
    add_with(
        &env,
        "source",
        "history",
        server,
        &src,
        &["versions=all", "acls=true"],
    );
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create_small_packs(store).ok();

    let first = env.backup(store, "@history");
    let summary = &first["snapshot"]["summary"];
    assert_eq!(summary["files"], 4, "{first}");
    assert_eq!(summary["errors"], 0, "{first}");
    let again = env.backup(store, "@history");
    assert_eq!(
        again["snapshot"]["summary"]["files_read"], 0,
        "an unchanged history reads nothing: {again}"
    );
    assert_eq!(again["snapshot"]["summary"]["new_bytes"], 0);
    let id = again["id"].as_str().unwrap().to_string();

    // Old versions' blobs are the snapshot's: a prune keeps them, check reads them.
    env.prune_now(store);
    env.run(&["at", store, "check", "--read-data"]).ok();

    let listed = env
        .run(&["at", store, "ls", "--versions", "-R", &id])
        .ok()
        .stdout;
    assert!(listed.contains("delete marker"), "{listed}");
    assert!(listed.contains("/gone.txt"), "{listed}");
    let current = env.run(&["at", store, "ls", "-R", &id]).ok().stdout;
    assert!(
        !current.contains("gone.txt"),
        "a deleted key is not in the current state: {current}"
    );

    // Replayed into a versioned bucket: the same sequence per key.
    let dst = unique("vdst");
    server.tool(&["vbucket", &dst]);
    add_with(&env, "destination", "replay", server, &dst, &[]);
    env.run(&["at", store, "restore", "-to", "@replay", &id])
        .ok();
    assert_eq!(
        json(server, &["versions", &dst]),
        json(server, &["versions", &src]),
        "every key's versions and delete markers, in order, with contents, types, metadata and tags"
    );
    assert_eq!(
        json(server, &["extras", &dst, "plain.bin"]),
        json(server, &["extras", &src, "plain.bin"]),
        "ACL grants, retention, legal hold and checksum"
    );

    // As the bucket stood between the two phases of writes.
    let then = unique("asof");
    add_with(&env, "destination", "then", server, &then, &[]);
    env.run(&[
        "at", store, "restore", "-to", "@then", "--as-of", &middle, &id,
    ])
    .ok();
    let state = json(server, &["dump", &then, ""]);
    let keys: Vec<&String> = state.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["gone.txt", "notes/a.txt", "plain.bin"], "{state}");
    assert_eq!(state["notes/a.txt"]["md5"], md5_hex(b"two\n"));
    assert_eq!(state["notes/a.txt"]["Metadata"]["rev"], "2");
    assert_eq!(state["gone.txt"]["md5"], md5_hex(b"bye\n"));

    // A new version is read alone, and diff names the key.
    server.tool(&["put", &src, "notes/a.txt", "four"]);
    let next = env.backup(store, "@history");
    assert_eq!(next["snapshot"]["summary"]["files_read"], 1, "{next}");
    let next_id = next["id"].as_str().unwrap();
    let diff = env.run(&["at", store, "diff", &id, next_id]).ok().stdout;
    assert!(diff.contains("notes/a.txt"), "{diff}");
    let bad = env
        .run(&[
            "at",
            store,
            "restore",
            "-to",
            "@then",
            "--as-of",
            "yesterday",
            &id,
        ])
        .code(2);
    assert!(bad.one_line_error().contains("--as-of"), "{}", bad.stderr);
}

#[test]
fn a_versions_option_other_than_current_or_all_is_refused() {
    let env = Env::new();
    let server = moto();
    let mut args = vec![
        "source".to_string(),
        "add".into(),
        "v".into(),
        format!("location={}", server.url("some-bucket", "")),
        "versions=some".into(),
    ];
    args.extend(server.credentials());
    let run = env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("current or all"), "{}", run.stderr);
}

#[test]
fn a_store_says_it_holds_histories_before_the_first_one_is_written() {
    let env = Env::new();
    let server = moto();
    let src = unique("vold");
    server.tool(&["history", &src]);
    add_with(&env, "source", "history", server, &src, &["versions=all"]);
    add_with(&env, "source", "current", server, &src, &[]);
    let config = |store: &str| -> Value {
        let path = std::path::Path::new(store).join("config");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let store = env.local_store();
    // Current objects only: the config is as a kloset without histories wrote it.
    env.backup(&store, "@current");
    assert!(config(&store).get("histories").is_none());
    env.backup(&store, "@history");
    assert_eq!(
        config(&store)["histories"],
        true,
        "a kloset that would not count versions' blobs must refuse the store"
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
    env.backup(&store, "@history");
}

#[test]
fn uploads_a_killed_restore_left_for_the_keys_restored_are_aborted() {
    let env = Env::new();
    let server = moto();
    let src = unique("usrc");
    server.tool(&["put", &src, "big.bin", "small enough"]);
    add_with(&env, "source", "s", server, &src, &[]);
    let store = env.local_store();
    let snap = env.backup(&store, "@s");
    let dst = unique("udst");
    server.tool(&["openupload", &dst, "big.bin"]);
    server.tool(&["openupload", &dst, "other.bin"]);
    add_with(&env, "destination", "d", server, &dst, &[]);
    let run = env
        .run(&[
            "at",
            &store,
            "restore",
            "-to",
            "@d",
            snap["id"].as_str().unwrap(),
        ])
        .ok();
    assert!(
        run.stderr.contains("1 unfinished multipart upload"),
        "{}",
        run.stderr
    );
    assert_eq!(
        json(server, &["uploads", &dst]),
        serde_json::json!(["other.bin"]),
        "only uploads of the keys restored are aborted"
    );
}
