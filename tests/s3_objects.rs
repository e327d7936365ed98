//! S3 as a source and as a destination, against real servers on 127.0.0.1: Garage (no object
//! tagging) and moto (tagging). Buckets are filled and inspected with boto3
//! (tests/tools/s3tool.py), an S3 client independent of kloset.

mod common;

use std::fs;
use std::time::Duration;

use common::servers::{garage, moto, PrivateGarage, S3Server};
use common::{pseudo_random, unique, Env};
use serde_json::Value;

fn dump(server: &S3Server, bucket: &str, prefix: &str) -> Value {
    serde_json::from_str(&server.tool(&["dump", bucket, prefix])).unwrap()
}

fn add(env: &Env, role: &str, name: &str, server: &S3Server, bucket: &str, prefix: &str) -> String {
    common::add_s3(env, role, name, server, bucket, prefix)
}

/// A local store, a filled source bucket, and one backup of it.
fn backed_up_fixture(env: &Env, server: &S3Server, tags: bool) -> (String, String, Value) {
    let bucket = unique("src");
    let mut fill = vec!["fill", bucket.as_str()];
    if tags {
        fill.push("--tags");
    }
    server.tool(&fill);
    add(env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    env.create(store.to_str().unwrap()).ok();
    let snap = env.backup(store.to_str().unwrap(), "@bucket");
    (bucket, store.to_str().unwrap().to_string(), snap)
}

/// Every object node of a snapshot by key, from `ls -R --json`.
fn objects(env: &Env, store: &str, id: &str) -> std::collections::BTreeMap<String, Value> {
    let all = env
        .run(&["--json", "at", store, "ls", "-R", id])
        .ok()
        .json();
    all.as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["node"]["s3"]
                .as_object()
                .map(|m| (m["key"].as_str().unwrap().to_string(), e["node"].clone()))
        })
        .collect()
}

fn check_recorded(
    source: &Value,
    recorded: &std::collections::BTreeMap<String, Value>,
    tags_supported: bool,
) {
    let source = source.as_object().unwrap();
    assert_eq!(
        source.keys().collect::<Vec<_>>(),
        recorded.keys().collect::<Vec<_>>(),
        "every key, exactly"
    );
    for (key, want) in source {
        let node = &recorded[key];
        let m = &node["s3"];
        assert_eq!(node["size"], want["size"], "{key}");
        for (dump_field, field) in [
            ("ContentType", "content_type"),
            ("ContentEncoding", "content_encoding"),
            ("ContentDisposition", "content_disposition"),
            ("ContentLanguage", "content_language"),
            ("CacheControl", "cache_control"),
        ] {
            assert_eq!(want.get(dump_field), m.get(field), "{key}: {field}");
        }
        let meta = want
            .get("Metadata")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}));
        assert_eq!(meta, m["user_metadata"], "{key}: user metadata");
        assert!(
            m["etag"].is_string() && m["last_modified"].is_string(),
            "{key}: {m}"
        );
        if tags_supported {
            assert_eq!(want["Tags"], m["tags"], "{key}: tags");
        } else {
            assert!(
                m.get("tags").is_none(),
                "{key}: tags must be recorded as unavailable, not invented"
            );
        }
    }
}

#[test]
fn a_bucket_with_every_awkward_key_and_metadata_kind_is_recorded_exactly() {
    let env = Env::new();
    let server = garage();
    let (bucket, store, snap) = backed_up_fixture(&env, server, false);
    let id = snap["id"].as_str().unwrap();
    let source = dump(server, &bucket, "");
    assert!(
        source.get("a//b").is_some() && source.get("dir/").is_some() && source.get("a").is_some()
    );
    check_recorded(&source, &objects(&env, &store, id), false);
    // Garage stores no content type when none was given: none is invented.
    assert!(objects(&env, &store, id)["no-content-type"]["s3"]
        .get("content_type")
        .is_none());
    // The folder hierarchy the keys imply.
    let listing = env
        .run(&["at", &store, "ls", &format!("{}:/2024/", &id[..8])])
        .ok()
        .stdout;
    assert_eq!(listing, "01/\n02/\n");
    let info = env
        .run(&[
            "--json",
            "at",
            &store,
            "info",
            &format!("{}:/meta/everything.json", &id[..8]),
        ])
        .ok()
        .json();
    assert_eq!(info["entry"]["s3"]["user_metadata"]["owner"], "alice");
}

#[test]
fn tags_are_recorded_where_the_server_has_them() {
    let env = Env::new();
    let server = moto();
    let (bucket, store, snap) = backed_up_fixture(&env, server, true);
    let recorded = objects(&env, &store, snap["id"].as_str().unwrap());
    check_recorded(&dump(server, &bucket, ""), &recorded, true);
    assert_eq!(
        recorded["meta/everything.json"]["s3"]["tags"],
        serde_json::json!({"team": "storage", "tier": "gold"})
    );
}

#[test]
fn unchanged_objects_are_not_downloaded_again() {
    let env = Env::new();
    let server = garage();
    let (bucket, store, first) = backed_up_fixture(&env, server, false);
    let objects_in_bucket = first["snapshot"]["summary"]["files"].as_u64().unwrap();
    assert_eq!(
        first["snapshot"]["summary"]["files_read"],
        objects_in_bucket
    );
    let second = env.backup(&store, "@bucket");
    assert_eq!(
        second["snapshot"]["summary"]["files_read"], 0,
        "no object GET on an unchanged bucket"
    );
    assert_eq!(second["snapshot"]["summary"]["new_bytes"], 0);
    assert_eq!(second["snapshot"]["summary"]["files"], objects_in_bucket);
    server.tool(&["put", &bucket, "2024/02/notes.md", "rewritten"]);
    let third = env.backup(&store, "@bucket");
    assert_eq!(third["snapshot"]["summary"]["files_read"], 1);
    let out = env.path("out");
    env.restore(
        &store,
        &out,
        &format!("{}:/2024/02", third["id"].as_str().unwrap()),
    )
    .ok();
    assert_eq!(
        fs::read_to_string(out.join("notes.md")).unwrap(),
        "rewritten"
    );
}

#[test]
fn source_errors_are_reported_and_the_store_stays_clean() {
    let env = Env::new();
    let server = garage();
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    add(&env, "source", "missing", server, &unique("nobucket"), "");
    let r = env.run(&["at", store, "backup", "@missing"]).code(19);
    assert!(
        r.one_line_error().contains("bucket does not exist"),
        "{}",
        r.stderr
    );
    env.run(&[
        "source",
        "add",
        "denied",
        &format!("location={}", server.url(&server.bucket, "")),
        &format!("access_key={}", server.access_key),
        "secret_access_key=not-the-secret-at-all-000000000000",
        "use_tls=false",
    ])
    .ok();
    let r = env.run(&["at", store, "backup", "@denied"]).code(19);
    assert!(r.one_line_error().contains("access denied"), "{}", r.stderr);
    assert_eq!(
        env.run(&["--json", "at", store, "ls"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Objects deleted or rewritten between the listing and the reads.
    let bucket = unique("race");
    let listed = env.path("listed");
    server.tool(&["fill", &bucket]);
    add(&env, "source", "race", server, &bucket, "");
    let child = env
        .command(&["--json", "at", store, "backup", "@race"])
        // Each folder under 2024/ waits 8 s after it is listed (the bucket is listed a folder
        // at a time) and says so in `listed`.
        .env(
            "KLOSET_TEST_PAUSE_AFTER_LIST",
            format!("2024/:8000:{}", listed.display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once 2024/01/ is listed (its reads wait), photo.jpg goes; notes.md is rewritten before
    // or after 2024/02/ is listed, and is read whole in its new version either way.
    let listed_01 = || {
        fs::read_to_string(&listed)
            .unwrap_or_default()
            .contains("2024/01/")
    };
    let start = std::time::Instant::now();
    while !listed_01() {
        assert!(start.elapsed() < Duration::from_secs(60), "never listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.tool(&["delete", &bucket, "2024/01/photo.jpg"]);
    server.tool(&["put", &bucket, "2024/02/notes.md", "new version"]);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("2024/01/photo.jpg") && stderr.contains("deleted"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["snapshot"]["summary"]["errors"], 1);
    let restored = env.path("race-out");
    env.restore(
        store,
        &restored,
        &format!("{}:/2024", v["id"].as_str().unwrap()),
    )
    .ok();
    assert_eq!(
        fs::read_to_string(restored.join("02/notes.md")).unwrap(),
        "new version",
        "never half old, half new"
    );
    assert!(!restored.join("01/photo.jpg").exists());
}

#[test]
fn restoring_an_s3_snapshot_to_a_filesystem_reports_what_it_cannot_hold() {
    let env = Env::new();
    let (_, store, snap) = backed_up_fixture(&env, garage(), false);
    let out = env.path("fs-out");
    let r = env.restore(&store, &out, snap["id"].as_str().unwrap());
    assert_eq!(
        r.code, 4,
        "one exit code for partial restores: {}",
        r.stderr
    );
    assert!(r.stderr.contains("folder marker 'dir/'"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("has a name longer than a filesystem holds"),
        "the 1000-byte key is reported, not fatal: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("a folder named ''"),
        "a//b is reported: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("key 'a' is a file where other keys make a folder"),
        "the file 'a' beside the folder 'a' is reported: {}",
        r.stderr
    );
    assert_eq!(
        fs::read(out.join("a/b")).unwrap(),
        b"a file inside a folder named a\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("unicode/日本語/ファイル.txt")).unwrap(),
        "unicode ✓\n"
    );
}

fn round_trip(server: &S3Server, tags: bool) {
    let env = Env::new();
    let (bucket, store, snap) = backed_up_fixture(&env, server, tags);
    let target = unique("dst");
    let dest = add(&env, "destination", "dst", server, &target, "restored");
    let id = snap["id"].as_str().unwrap();
    let r = env
        .run(&["--json", "at", &store, "restore", "-to", &dest, id])
        .ok()
        .json();
    assert_eq!(r["objects"], 15);
    let a = dump(server, &bucket, "");
    let b = dump(server, &target, "restored/");
    assert_eq!(
        a, b,
        "listing, bytes, headers and tags of the restored bucket equal the source's"
    );
    if tags {
        assert_eq!(b["a"]["Tags"], serde_json::json!({"kind": "file"}));
    }
    // Running it again changes nothing: every object is already identical.
    let again = env
        .run(&["--json", "at", &store, "restore", "-to", &dest, id])
        .ok()
        .json();
    assert_eq!(again["objects"], 0);
    assert_eq!(again["skipped_identical"], 15);
    // Same bytes with other metadata are not identical: a conflict, and --force repairs it.
    server.tool(&[
        "meta",
        &target,
        "restored/meta/everything.json",
        "owner=mallory",
    ]);
    let refused = env
        .run(&["at", &store, "restore", "-to", &dest, id])
        .code(16);
    assert!(
        refused.stderr.contains("meta/everything.json"),
        "{}",
        refused.stderr
    );
    let forced = env
        .run(&[
            "--json", "at", &store, "restore", "--force", "-to", &dest, id,
        ])
        .ok()
        .json();
    assert_eq!(forced["objects"], 1, "{forced}");
    assert_eq!(dump(server, &target, "restored/"), a);

    // A subtree, to a location given directly.
    let sub = env.run(&[
        "destination",
        "add",
        "sub",
        &format!("location={}", server.url(&target, "sub")),
        &format!("access_key={}", server.access_key),
        &format!("secret_access_key={}", server.secret_key),
        "use_tls=false",
    ]);
    sub.ok();
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        "@sub",
        &format!("{id}:/2024/"),
    ])
    .ok();
    let s = dump(server, &target, "sub/");
    assert_eq!(
        s.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["01/photo.jpg", "02/notes.md"]
    );
    assert_eq!(s["01/photo.jpg"], a["2024/01/photo.jpg"]);
}

#[test]
fn round_trip_through_garage() {
    round_trip(garage(), false);
}

#[test]
fn round_trip_with_tags_through_moto() {
    round_trip(moto(), true);
}

#[test]
fn a_prefix_wider_than_one_tree_page_backs_up_and_restores_exactly() {
    let server = garage();
    let mut env = Env::new();
    // Trees are paged at 4000 bytes: the 60 objects under one prefix take several pages.
    env.extra_env
        .push(("KLOSET_TEST_TREE_LIMIT".into(), "4000".into()));
    let bucket = unique("wide");
    server.tool(&["many", &bucket, "wide/", "60"]);
    server.tool(&["put", &bucket, "top.txt", "top"]);
    add(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let snap = env.backup(store, "@bucket");
    let id = snap["id"].as_str().unwrap();
    assert_eq!(objects(&env, store, id).len(), 61);
    env.run(&["at", store, "check", "--read-data"]).ok();
    let target = unique("dst");
    let dest = add(&env, "destination", "dst", server, &target, "");
    let r = env
        .run(&["--json", "at", store, "restore", "-to", &dest, id])
        .ok()
        .json();
    assert_eq!(r["objects"], 61);
    assert_eq!(dump(server, &bucket, ""), dump(server, &target, ""));
}

#[test]
fn conflicts_stop_before_writing_unless_forced() {
    let env = Env::new();
    let server = garage();
    let (_, store, snap) = backed_up_fixture(&env, server, false);
    let target = unique("conflict");
    server.tool(&["fill", &target]);
    server.tool(&["put", &target, "restored/a", "something else"]);
    let dest = add(&env, "destination", "dst", server, &target, "restored");
    let id = snap["id"].as_str().unwrap();
    let r = env
        .run(&["at", &store, "restore", "-to", &dest, id])
        .code(16);
    let line = r.one_line_error();
    assert!(line.contains("'a'") || line.contains(" a"), "{line}");
    assert!(
        line.contains("nothing was written") && line.contains("--force"),
        "{line}"
    );
    let before = dump(server, &target, "restored/");
    assert_eq!(before.as_object().unwrap().len(), 1, "nothing was written");
    env.run(&["at", &store, "restore", "--force", "-to", &dest, id])
        .ok();
    let after = dump(server, &target, "restored/");
    assert_eq!(after["a"]["size"], 15);
    assert_eq!(after.as_object().unwrap().len(), 15);
}

#[test]
fn a_large_object_goes_up_in_parts_and_comes_back_whole() {
    let env = Env::new();
    let server = garage();
    let bucket = unique("big");
    server.tool(&["fill", &bucket]);
    server.tool(&["big", &bucket, "huge/object.bin", "110"]);
    add(&env, "source", "bucket", server, &bucket, "huge");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let snap = env.backup(store, "@bucket");
    assert_eq!(snap["snapshot"]["summary"]["bytes"], 110 * 1024 * 1024);
    let target = unique("bigdst");
    let dest = add(&env, "destination", "dst", server, &target, "");
    env.run(&[
        "at",
        store,
        "restore",
        "-to",
        &dest,
        snap["id"].as_str().unwrap(),
    ])
    .ok();
    assert_eq!(dump(server, &bucket, "huge/"), dump(server, &target, ""));
    assert_eq!(server.tool(&["uploads", &target]).trim(), "[]");
}

#[test]
fn filesystem_snapshots_restore_to_s3_with_guessed_types_and_kept_modes() {
    let env = Env::new();
    let server = garage();
    let src = env.path("src");
    fs::create_dir_all(src.join("web")).unwrap();
    fs::write(src.join("web/index.html"), "<html></html>").unwrap();
    fs::write(src.join("notes.txt"), "text").unwrap();
    fs::set_permissions(
        src.join("notes.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let snap = env.backup(store, src.to_str().unwrap());
    let target = unique("fsdst");
    env.run(&[
        "at",
        store,
        "restore",
        "-to",
        &add(&env, "destination", "d", server, &target, "site"),
        snap["id"].as_str().unwrap(),
    ])
    .ok();
    let d = dump(server, &target, "site/");
    assert_eq!(d["web/index.html"]["ContentType"], "text/html");
    assert_eq!(d["notes.txt"]["ContentType"], "text/plain");
    assert_eq!(d["notes.txt"]["Metadata"]["kloset-mode"], "600");
    assert!(
        d["notes.txt"]["Metadata"]["kloset-mtime-ns"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );
}

#[test]
fn a_restore_cut_by_a_server_restart_can_be_run_again_to_completion() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..8 {
        fs::write(
            src.join(format!("large-{i}")),
            pseudo_random(700 + i, 24 * 1024 * 1024),
        )
        .unwrap();
    }
    for i in 0..200 {
        fs::write(
            src.join(format!("small-{i:03}")),
            pseudo_random(900 + i, 2000),
        )
        .unwrap();
    }
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let snap = env.backup(store, src.to_str().unwrap());
    let id = snap["id"].as_str().unwrap();

    let mut g = PrivateGarage::start();
    let dest = add(&env, "destination", "dst", &g.server, &g.server.bucket, "r");
    let child = env.spawn(&["at", store, "restore", "-to", &dest, id]);
    let data = g.server.data_dir.join("data");
    common::wait_until(|| common::suite::count_files(&data) >= 3);
    g.stop();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(0),
        "the server was stopped mid-restore: {stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("kloset:")).count(),
        1,
        "{stderr}"
    );
    g.restart();
    env.run(&["at", store, "restore", "-to", &dest, id]).ok();
    let restored = dump(&g.server, &g.server.bucket, "r/");
    assert_eq!(restored.as_object().unwrap().len(), 208);
    for i in [0, 7] {
        let want = md5_hex(&fs::read(src.join(format!("large-{i}"))).unwrap());
        assert_eq!(restored[format!("large-{i}")]["md5"], want);
    }
    assert_eq!(
        g.server.tool(&["uploads", &g.server.bucket]).trim(),
        "[]",
        "no partial uploads left behind"
    );
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}

fn dot_segments_round_trip(server: &S3Server) {
    let env = Env::new();
    let bucket = unique("dots");
    server.tool(&["fill", &bucket]);
    let keys = ["a/./b", "../up", "x/../y", "./z", "deep/../../two"];
    for k in keys {
        server.tool(&["put", &bucket, k, &format!("content of {k}")]);
    }
    add(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let snap = env.backup(store, "@bucket");
    assert_eq!(snap["snapshot"]["summary"]["errors"], 0, "{snap}");
    let id = snap["id"].as_str().unwrap();
    let recorded = objects(&env, store, id);
    for k in keys {
        assert!(recorded.contains_key(k), "{k} is in the snapshot");
    }
    let target = unique("dots-out");
    let dest = add(&env, "destination", "dst", server, &target, "");
    env.run(&["at", store, "restore", "-to", &dest, id]).ok();
    assert_eq!(dump(server, &bucket, ""), dump(server, &target, ""));
}

#[test]
fn keys_with_dot_segments_that_garage_refuses_are_reported_as_such() {
    let server = garage();
    let env = Env::new();
    let bucket = unique("dots");
    server.tool(&["fill", &bucket]);
    server.tool(&["put", &bucket, "a/./b", "dotted"]);
    add(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let r = env
        .run(&["--json", "at", store, "backup", "@bucket"])
        .code(3);
    assert!(
        r.stderr.contains("'a/./b'") && r.stderr.contains("'.' or '..' segment"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("deleted"), "{}", r.stderr);
    assert_eq!(r.json()["snapshot"]["summary"]["errors"], 1);
}

#[test]
fn keys_with_dot_segments_are_backed_up_and_restored_exactly_on_moto() {
    dot_segments_round_trip(moto());
}

/// SIGKILL at `ms` after the start; true when the process was still running then.
fn kill_after(env: &Env, args: &[&str], ms: u64) -> bool {
    let mut child = env.spawn(args);
    std::thread::sleep(Duration::from_millis(ms));
    let running = child.try_wait().unwrap().is_none();
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    running
}

#[test]
fn killed_bucket_backups_and_restores_lose_nothing() {
    let server = garage();
    let env = Env::new();
    let bucket = unique("kill");
    server.tool(&["fill", &bucket]);
    for i in 0..2 {
        server.tool(&["big", &bucket, &format!("big-{i}"), "6"]);
    }
    add(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let mut killed = 0;
    for ms in [60, 250, 700] {
        killed += kill_after(&env, &["at", store, "backup", "@bucket"], ms) as usize;
        env.run(&["at", store, "check"]).ok();
    }
    assert!(killed > 0, "no backup was killed while running");
    let snap = env.backup(store, "@bucket");
    let id = snap["id"].as_str().unwrap().to_string();
    env.run(&["at", store, "check", "--read-data"]).ok();

    let target = unique("kill-out");
    let dest = add(&env, "destination", "dst", server, &target, "r");
    for ms in [100, 400] {
        kill_after(&env, &["at", store, "restore", "-to", &dest, &id], ms);
    }
    env.run(&["at", store, "restore", "-to", &dest, &id]).ok();
    assert_eq!(dump(server, &bucket, ""), dump(server, &target, "r/"));
    assert_eq!(server.tool(&["uploads", &target]).trim(), "[]");

    let out = env.path("fs-out");
    for ms in [100, 400] {
        kill_after(
            &env,
            &["at", store, "restore", "-to", out.to_str().unwrap(), &id],
            ms,
        );
    }
    env.restore_forced(store, &out, &id);
    for i in 0..2 {
        let want = dump(server, &bucket, "")[format!("big-{i}")]["md5"].clone();
        assert_eq!(
            md5_hex(&fs::read(out.join(format!("big-{i}"))).unwrap()),
            want
        );
    }
    let leftovers: Vec<_> = common::files_under(&out)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".kloset-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn tags_a_server_cannot_keep_are_reported_not_silently_lost() {
    let env = Env::new();
    let (_, store, snap) = backed_up_fixture(&env, moto(), true);
    let target = unique("untagged");
    let dest = add(&env, "destination", "g", garage(), &target, "");
    let r = env
        .run(&[
            "at",
            &store,
            "restore",
            "-to",
            &dest,
            snap["id"].as_str().unwrap(),
        ])
        .ok();
    assert!(
        r.stderr.contains("without their tags"),
        "Garage keeps no tags, and the restore says so: {}",
        r.stderr
    );
}

#[test]
fn exclude_patterns_apply_to_object_keys() {
    let env = Env::new();
    let server = garage();
    let bucket = unique("excl");
    for key in [
        "logs/2024/a.log",
        "logs/b.log",
        "site/index.html",
        "site/cache/x.bin",
        "TMP.DAT",
    ] {
        server.tool(&["put", &bucket, key, key]);
    }
    add(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let r = env.run(&[
        "--json",
        "at",
        store,
        "backup",
        "--exclude",
        "logs/**",
        "--exclude",
        "cache/",
        "--iexclude",
        "*.dat",
        "@bucket",
    ]);
    let id = r.ok().json()["id"].as_str().unwrap().to_string();
    let keys: Vec<String> = objects(&env, store, &id).into_keys().collect();
    assert_eq!(keys, vec!["site/index.html".to_string()]);
}

#[test]
fn cat_diff_and_find_speak_in_object_keys_and_metadata() {
    let env = Env::new();
    let server = garage();
    let bucket = unique("daily");
    for key in [
        "site/index.html",
        "site/old.html",
        "site/img/logo.png",
        "data/report.csv",
    ] {
        server.tool(&["put", &bucket, key, &format!("content of {key}")]);
    }
    add(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let first = env.backup(store, "@bucket")["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.tool(&["put", &bucket, "site/index.html", "a new front page"]);
    server.tool(&["delete", &bucket, "site/old.html"]);
    server.tool(&["put", &bucket, "site/new.html", "added"]);
    server.tool(&["meta", &bucket, "data/report.csv", "owner=bob"]);
    let second = env.backup(store, "@bucket")["id"]
        .as_str()
        .unwrap()
        .to_string();

    let out = env
        .command(&["at", store, "cat", &format!("{first}:/site/index.html")])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"content of site/index.html");
    let out = env
        .command(&["at", store, "cat", &format!("{second}:/site/index.html")])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"a new front page");

    let changes = env
        .run(&["--json", "at", store, "diff", &first, &second])
        .ok()
        .json();
    let got: Vec<(String, String)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("path"), s("change"))
        })
        .collect();
    let want = [
        ("/data/report.csv", "metadata"),
        ("/site/index.html", "modified"),
        ("/site/new.html", "added"),
        ("/site/old.html", "removed"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    let meta = objects(&env, store, &second)["data/report.csv"]["s3"]["user_metadata"].clone();
    assert_eq!(meta, serde_json::json!({"owner": "bob"}));

    let found = env
        .run(&["--json", "at", store, "find", "*.html"])
        .ok()
        .json();
    let mut hits: Vec<(String, String)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let s = |k: &str| h[k].as_str().unwrap().to_string();
            (s("snapshot")[..8].to_string(), s("path"))
        })
        .collect();
    hits.sort();
    let mut want = vec![
        (first[..8].to_string(), "/site/index.html".to_string()),
        (first[..8].to_string(), "/site/old.html".to_string()),
        (second[..8].to_string(), "/site/index.html".to_string()),
        (second[..8].to_string(), "/site/new.html".to_string()),
    ];
    want.sort();
    assert_eq!(hits, want);
}
