//! Snapshots after the fact: `tag` and `rewrite` (local and S3 sources), each followed by
//! `check --read-data`, a byte-identical restore (less what was taken out) and a prune that
//! reclaims what only the originals held; `ls --json` read the way scripts read restic's
//! `snapshots --json`; `--host` in the parent choice; sources recorded absolute.

mod common;

use std::fs;
use std::path::Path;

use common::servers::moto;
use common::{pseudo_random, unique, Env};
use serde_json::Value;

fn snapshots(env: &Env, store: &str) -> Vec<Value> {
    let v = env.run(&["--json", "at", store, "ls"]).ok().json();
    v.as_array().unwrap().clone()
}

fn packs_bytes(store: &Path) -> u64 {
    common::files_under(&store.join("packs"))
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

/// A tree with a secret and a cache among ordinary files; random bytes do not compress, so
/// the space they take is known.
fn fixture(src: &Path) {
    fs::create_dir_all(src.join("docs")).unwrap();
    fs::create_dir_all(src.join("cache/deep")).unwrap();
    fs::write(src.join("docs/a.txt"), b"hello\n").unwrap();
    fs::write(src.join("docs/b.bin"), pseudo_random(1, 200_000)).unwrap();
    fs::write(src.join("secret.key"), pseudo_random(2, 300_000)).unwrap();
    fs::write(src.join("cache/deep/c.bin"), pseudo_random(3, 400_000)).unwrap();
}

#[test]
fn tags_change_as_new_snapshots_and_nothing_else_changes() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fixture(&src);
    let first = env.backup(&store, src.to_str().unwrap());
    let id = first["id"].as_str().unwrap().to_string();

    let out = env
        .run(&["--json", "at", &store, "tag", "--add", "keep,monthly", &id])
        .ok()
        .json();
    let new = out[0]["new"].as_str().unwrap().to_string();
    assert_eq!(out[0]["old"], id.as_str());
    assert_eq!(out[0]["removed_old"], true);
    let list = snapshots(&env, &store);
    assert_eq!(list.len(), 1, "the old one is gone: {list:?}");
    assert_eq!(list[0]["id"], new.as_str());
    assert_eq!(list[0]["tags"], serde_json::json!(["keep", "monthly"]));
    assert_eq!(list[0]["original"], id.as_str());
    assert_eq!(list[0]["tree"], first["snapshot"]["tree"]);

    // By filter, and again: removing a tag it lacks changes nothing.
    env.run(&["at", &store, "tag", "--remove", "monthly", "--tag", "keep"])
        .ok();
    let out = env
        .run(&["--json", "at", &store, "tag", "--remove", "monthly"])
        .ok()
        .json();
    assert!(out[0]["new"].is_null(), "{out}");
    let list = snapshots(&env, &store);
    assert_eq!(list[0]["tags"], serde_json::json!(["keep"]));
    // The first original stays recorded through several changes.
    assert_eq!(list[0]["original"], id.as_str());
    env.run(&["at", &store, "tag", "--set", "", "latest"]).ok();
    assert_eq!(snapshots(&env, &store)[0]["tags"], serde_json::json!([]));

    let usage = env.run(&["at", &store, "tag", "latest"]).code(2);
    assert!(
        usage.one_line_error().contains("--add"),
        "{}",
        usage.one_line_error()
    );

    env.run(&["at", &store, "check", "--read-data"]).ok();
    let target = env.path("restored");
    env.restore(&store, &target, "latest").ok();
    common::assert_same_tree(&src, &target);
}

#[test]
fn a_rewrite_takes_paths_out_of_every_snapshot_and_prune_reclaims_them() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fixture(&src);
    env.backup(&store, src.to_str().unwrap());
    fs::write(src.join("docs/a.txt"), b"hello again\n").unwrap();
    env.backup(&store, src.to_str().unwrap());
    let before = snapshots(&env, &store);

    let dry = env
        .run(&[
            "--json",
            "at",
            &store,
            "rewrite",
            "--exclude",
            "secret.key",
            "--exclude",
            "cache/",
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(dry.as_array().unwrap().len(), 2);
    assert_eq!(dry[0]["entries_removed"], 2);
    assert_eq!(dry[0]["files_removed"], 2);
    assert_eq!(dry[0]["bytes_removed"], 700_000);
    assert!(dry[0]["new"].is_null());
    assert_eq!(snapshots(&env, &store), before, "a dry run writes nothing");

    let out = env
        .run(&[
            "--json",
            "at",
            &store,
            "rewrite",
            "--exclude",
            "secret.key",
            "--exclude",
            "cache/",
            "--forget",
        ])
        .ok()
        .json();
    let after = snapshots(&env, &store);
    assert_eq!(after.len(), 2);
    for (r, old) in out.as_array().unwrap().iter().zip(&before) {
        assert_eq!(r["old"], old["id"]);
        assert_eq!(r["removed_old"], true);
        let new = after.iter().find(|s| s["id"] == r["new"]).unwrap();
        assert_eq!(new["original"], old["id"]);
        assert_eq!(new["time"], old["time"]);
        assert_eq!(
            new["summary"]["files"].as_u64().unwrap(),
            old["summary"]["files"].as_u64().unwrap() - 2
        );
    }
    // Done already: a second run finds nothing to take out.
    let again = env
        .run(&["--json", "at", &store, "rewrite", "--exclude", "secret.key"])
        .ok()
        .json();
    assert!(again.as_array().unwrap().iter().all(|r| r["new"].is_null()));

    env.run(&["at", &store, "check", "--read-data"]).ok();
    let target = env.path("restored");
    env.restore(&store, &target, "latest").ok();
    fs::remove_file(src.join("secret.key")).unwrap();
    fs::remove_dir_all(src.join("cache")).unwrap();
    common::assert_same_tree(&src, &target);

    let packs_before = packs_bytes(Path::new(&store));
    env.prune_now(&store).ok();
    let freed = packs_before - packs_bytes(Path::new(&store));
    assert!(freed >= 700_000, "prune freed {freed} bytes");
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let target = env.path("restored-after-prune");
    env.restore(&store, &target, "latest").ok();
    common::assert_same_tree(&src, &target);

    let usage = env.run(&["at", &store, "rewrite", "latest"]).code(2);
    assert!(usage.one_line_error().contains("--exclude"));
}

#[test]
fn a_rewrite_takes_keys_out_of_an_s3_source_snapshot() {
    let server = moto();
    let env = Env::new();
    let bucket = unique("rewrite");
    server.tool(&["put", &bucket, "public/a.txt", "for everyone"]);
    server.tool(&["put", &bucket, "private/secret.txt", "for nobody"]);
    server.tool(&["put", &bucket, "top.txt", "at the top"]);
    let source = common::add_s3(&env, "source", "bucket", server, &bucket, "");
    let store = env.local_store();
    env.backup(&store, &source);

    let out = env
        .run(&[
            "--json",
            "at",
            &store,
            "rewrite",
            "--exclude",
            "/private",
            "--forget",
            "latest",
        ])
        .ok()
        .json();
    assert_eq!(out[0]["files_removed"], 1);
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let target = env.path("restored");
    env.restore(&store, &target, "latest").ok();
    assert_eq!(
        fs::read(target.join("public/a.txt")).unwrap(),
        b"for everyone"
    );
    assert_eq!(fs::read(target.join("top.txt")).unwrap(), b"at the top");
    assert!(!target.join("private").exists());
    // The taken-out object's blob goes with the prune.
    let blobs = |env: &Env| {
        let info = env.run(&["--json", "at", &store, "info"]).ok().json();
        info["blobs"].as_u64().unwrap()
    };
    let before = blobs(&env);
    env.prune_now(&store).ok();
    assert!(blobs(&env) < before, "prune reclaimed nothing");
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let list = snapshots(&env, &store);
    assert_eq!(list.len(), 1);
    assert!(
        list[0]["paths"][0].as_str().unwrap().starts_with("s3://"),
        "{list:?}"
    );
}

/// What scripts written for `restic snapshots --json` do, run on `kloset ls --json`.
const RESTIC_STYLE_SCRIPT: &str = r#"
import json, sys
for s in json.load(sys.stdin):
    when = s["time"][:19]
    print(s["short_id"], s["id"][:8], when, s["hostname"], s["username"] is not None,
          ",".join(s["paths"]), ",".join(s["tags"]), s["tree"][:8], s["parent"] or "-")
"#;

#[test]
fn ls_json_reads_as_restics_snapshots_json_and_host_and_paths_are_recorded_whole() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();
    // Given relative, recorded absolute.
    let mut relative = env.command(&[
        "--json", "at", &store, "backup", "src", "--host", "web1", "--tag", "t1",
    ]);
    relative.current_dir(env.path(""));
    let out = relative.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let abs = src.display().to_string();
    assert_eq!(first["snapshot"]["source"], abs.as_str());
    assert_eq!(first["snapshot"]["paths"][0], abs.as_str());
    assert_eq!(first["snapshot"]["hostname"], "web1");

    // Another host's snapshot is not this one's parent; the same host's is.
    let mine = env.backup(&store, &abs);
    assert!(mine["snapshot"]["parent"].is_null(), "{mine}");
    let again = env
        .run(&["--json", "at", &store, "backup", &abs, "--host", "web1"])
        .ok()
        .json();
    assert_eq!(again["snapshot"]["parent"], first["id"]);

    let json = env.run(&["--json", "at", &store, "ls"]).ok();
    let mut script = std::process::Command::new("python3")
        .args(["-c", RESTIC_STYLE_SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    script
        .stdin
        .take()
        .unwrap()
        .write_all(json.stdout.as_bytes())
        .unwrap();
    let printed = script.wait_with_output().unwrap();
    assert!(
        printed.status.success(),
        "the script failed on kloset's JSON"
    );
    let lines: Vec<String> = String::from_utf8(printed.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let id = first["id"].as_str().unwrap();
    let tree = first["snapshot"]["tree"].as_str().unwrap();
    assert_eq!(
        lines[0],
        format!(
            "{} {} {} web1 True {abs} t1 {} -",
            &id[..8],
            &id[..8],
            &first["snapshot"]["time"].as_str().unwrap()[..19],
            &tree[..8]
        )
    );
    assert!(
        lines[2].ends_with(id),
        "the third's parent is the first: {}",
        lines[2]
    );
}

/// Every `--json` output README documents, run on one store: each parses, with the fields
/// README names.
#[test]
fn every_documented_json_output_parses_with_its_fields() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fixture(&src);
    let s = src.to_str().unwrap();
    let has = |v: &Value, keys: &[&str]| {
        for k in keys {
            assert!(v.get(k).is_some(), "no '{k}' in {v}");
        }
    };
    let json = |args: &[&str]| {
        let mut all = vec!["--json", "at", &store];
        all.extend_from_slice(args);
        env.run(&all).ok().json()
    };
    let backup = json(&["backup", s]);
    has(
        &backup,
        &["message_type", "id", "snapshot_id", "snapshot", "errors"],
    );
    has(
        &backup["snapshot"],
        &[
            "id", "short_id", "time", "hostname", "username", "paths", "tags", "tree", "parent",
        ],
    );
    has(
        &json(&["backup", "--dry-run", s]),
        &["dry_run", "summary", "errors"],
    );
    fs::write(src.join("docs/new.txt"), b"new").unwrap();
    let second = json(&["backup", s]);
    let (a, b) = (
        backup["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    let snaps = json(&["ls"]);
    has(
        &snaps[0],
        &[
            "id", "short_id", "time", "host", "hostname", "username", "paths", "tags", "tree",
            "parent", "original", "source", "summary",
        ],
    );
    has(
        &json(&["ls", "latest"])[0],
        &["name", "kind", "mode", "mtime", "size"],
    );
    has(&json(&["ls", "-R", "latest"])[0], &["path", "node"]);
    let target = env.path("out");
    has(
        &json(&["restore", "-to", target.to_str().unwrap(), "latest"]),
        &["snapshot", "target", "files", "dirs", "bytes", "errors"],
    );
    has(&json(&["diff", a, b])[0], &["path", "change"]);
    has(
        &json(&["find", "*.txt"])[0],
        &["snapshot", "time", "path", "kind", "size"],
    );
    has(
        &json(&["check"]),
        &["snapshots", "trees", "packs", "problems", "warnings"],
    );
    let forget = json(&["forget", "--keep-last", "1", "--dry-run"]);
    has(&forget[0], &["group", "keep", "remove"]);
    has(&forget[0]["keep"][0], &["id", "time", "reasons"]);
    has(
        &json(&["prune", "--dry-run"]),
        &[
            "dry_run",
            "snapshots",
            "packs",
            "unused_bytes",
            "bytes_freed",
        ],
    );
    has(
        &json(&["stats"]),
        &["snapshots_count", "total_file_count", "total_size"],
    );
    has(
        &json(&["stats", "--mode", "raw-data"]),
        &[
            "snapshots_count",
            "total_blob_count",
            "total_size",
            "total_uncompressed_size",
            "compression_ratio",
        ],
    );
    has(&json(&["stats", "--by", "host"]), &["total", "groups"]);
    has(
        &json(&["tag", "--add", "x", "latest"])[0],
        &["old", "new", "removed_old"],
    );
    has(
        &json(&["rewrite", "--exclude", "secret.key", "--dry-run"])[0],
        &[
            "old",
            "new",
            "entries_removed",
            "files_removed",
            "bytes_removed",
        ],
    );
    has(
        &json(&["info"]),
        &[
            "id",
            "location",
            "snapshots",
            "packs",
            "blobs",
            "stored_bytes",
        ],
    );
    has(&json(&["key", "list"])[0], &["name", "created", "in_use"]);
    has(&json(&["rm", a]), &["removed"]);
    let other = env.path("other").to_str().unwrap().to_string();
    let created = env.run(&["--json", "at", &other, "create"]).ok().json();
    has(&created, &["id", "location"]);
}

/// Tag and rewrite make new versions of a snapshot: forget counts a snapshot's versions as one
/// restore point judged by the newest (its tags for `--keep-tag`); sync copies a newer
/// version, and never brings back a version older than one the store holds.
#[test]
fn versions_of_a_snapshot_count_once_and_sync_never_brings_an_old_one_back() {
    let mut env = Env::new();
    env.extra_env
        .push(("KLOSET_OTHER_PASSPHRASE".into(), "correct horse".into()));
    let store = env.local_store();
    let src = env.path("src");
    fixture(&src);
    let first = env.backup(&store, src.to_str().unwrap());
    let old = first["id"].as_str().unwrap().to_string();
    let other = env.path("other").to_str().unwrap().to_string();
    env.create(&other).ok();
    env.run(&["at", &store, "sync", "to", &other]).ok();

    // A rewrite kept beside its original, then tagged: versions 1 and 2 of one snapshot.
    let out = env
        .run(&[
            "--json",
            "at",
            &store,
            "rewrite",
            "--exclude",
            "secret.key",
            &old,
        ])
        .ok()
        .json();
    let rewritten = out[0]["new"].as_str().unwrap().to_string();
    let tagged = env
        .run(&["--json", "at", &store, "tag", "--add", "keep", &rewritten])
        .ok()
        .json();
    let tagged = tagged[0]["new"].as_str().unwrap().to_string();
    let list = snapshots(&env, &store);
    assert_eq!(list.len(), 2, "{list:?}");
    let newest = list.iter().find(|s| s["id"] == tagged.as_str()).unwrap();
    assert_eq!(newest["version"], 2);
    assert_eq!(newest["original"], old.as_str());
    let plan = env
        .run(&[
            "--json",
            "at",
            &store,
            "forget",
            "--keep-tag",
            "keep",
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(
        plan[0]["keep"].as_array().unwrap().len(),
        2,
        "kept whole: {plan}"
    );
    assert!(plan[0]["remove"].as_array().unwrap().is_empty(), "{plan}");

    // The other store gets the newest version beside the copy it had.
    env.run(&["at", &store, "sync", "to", &other]).ok();
    let there = snapshots(&env, &other);
    assert_eq!(there.len(), 2, "{there:?}");
    assert!(there
        .iter()
        .any(|s| s["tags"] == serde_json::json!(["keep"])));
    // The original removed here is not brought back by the other store's old copy.
    env.run(&["at", &store, "rm", &old]).ok();
    let back = env
        .run(&["--json", "at", &store, "sync", "from", &other])
        .ok()
        .json();
    assert_eq!(back["copied"].as_array().map_or(0, Vec::len), 0, "{back}");
    assert_eq!(snapshots(&env, &store).len(), 1);

    // Taking everything out is refused: that is `rm`.
    let all = env
        .run(&["at", &store, "rewrite", "--exclude", "*", "--forget"])
        .code(2);
    assert!(
        all.one_line_error().contains("kloset rm"),
        "{}",
        all.one_line_error()
    );
    assert_eq!(snapshots(&env, &store).len(), 1);
}

/// A bucket's whole history: a key taken out goes with every version of it.
#[test]
fn a_rewrite_takes_a_key_out_of_a_bucket_history_with_all_its_versions() {
    let server = moto();
    let env = Env::new();
    let bucket = unique("rwhist");
    let middle = server.tool(&["history", &bucket]).trim().to_string();
    let url = server.url(&bucket, "");
    let location = format!("location={url}");
    let mut add = vec![
        "source",
        "add",
        "history",
        location.as_str(),
        "versions=all",
    ];
    let credentials = server.credentials();
    add.extend(credentials.iter().map(String::as_str));
    env.run(&add).ok();
    let store = env.local_store();
    env.backup(&store, "@history");
    let blobs = |env: &Env| {
        let info = env.run(&["--json", "at", &store, "info"]).ok().json();
        info["blobs"].as_u64().unwrap()
    };

    let out = env
        .run(&[
            "--json",
            "at",
            &store,
            "rewrite",
            "--exclude",
            "/notes",
            "--forget",
        ])
        .ok()
        .json();
    assert_eq!(out[0]["removed_old"], true, "{out}");
    let listed = env
        .run(&["--json", "at", &store, "ls", "-R", "--versions", "latest"])
        .ok()
        .json();
    let paths: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().all(|p| !p.contains("notes")), "{paths:?}");
    assert!(
        paths.contains(&"/plain.bin") && paths.contains(&"/gone.txt"),
        "{paths:?}"
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
    // As it stood between the writes: everything but the key taken out.
    let then = env.path("then");
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        then.to_str().unwrap(),
        "--as-of",
        &middle,
        "latest",
    ])
    .ok();
    assert!(!then.join("notes").exists());
    assert_eq!(fs::read(then.join("gone.txt")).unwrap(), b"bye\n");
    let before = blobs(&env);
    env.prune_now(&store).ok();
    assert!(
        blobs(&env) + 3 <= before,
        "the three versions' contents go with the prune"
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
}
