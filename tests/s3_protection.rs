//! S3 protection on real servers: server-side encryption (SSE-C on Garage, which enforces the
//! key; SSE-S3 and SSE-KMS on moto, which records the headers), storage classes for data
//! packs only, and Object Lock on moto.

mod common;

use std::fs;

use common::servers::{garage, moto};
use common::{assert_same_tree, unique, Env};
use serde_json::Value;

fn restore_same(env: &Env, store: &str, src: &std::path::Path, name: &str) {
    let out = env.path(name);
    env.restore(store, &out, "latest").ok();
    assert_same_tree(src, &out);
}

#[test]
fn sse_c_store_on_garage_needs_its_key() {
    let env = Env::new();
    let server = garage();
    let key = env.path("sse.key");
    fs::write(&key, common::pseudo_random(5, 32)).unwrap();
    let bucket = unique("ssec");
    let store = common::add_s3(&env, "store", "vault", server, &bucket, "");
    let key_opt = format!("sse_customer_key=@{}", key.display());
    env.run(&["store", "set", "vault", &key_opt]).ok();
    let shown = env.run(&["store", "show", "vault"]).ok().stdout;
    assert!(
        !shown.contains(key.to_str().unwrap()),
        "show masks the key source: {shown}"
    );
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.backup(&store, src.to_str().unwrap());
    env.run(&["at", &store, "check", "--read-data"]).ok();
    restore_same(&env, &store, &src, "out");
    // The server holds them encrypted with our key: a plain GET is refused.
    let listed: Value =
        serde_json::from_str(&server.tool(&["sse", &bucket, key.to_str().unwrap()])).unwrap();
    let pack = listed
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("packs/"))
        .unwrap()
        .clone();
    assert!(
        !server.tool_ok(&["get", &bucket, &pack]),
        "a pack reads without the key"
    );

    let other = env.path("other.key");
    fs::write(&other, common::pseudo_random(6, 32)).unwrap();
    env.run(&[
        "store",
        "set",
        "vault",
        &format!("sse_customer_key=@{}", other.display()),
    ])
    .ok();
    let r = env.run(&["at", &store, "ls"]);
    assert_eq!(r.code, 19, "{}", r.stderr);
    assert!(
        r.one_line_error().contains("sse_customer_key"),
        "{}",
        r.stderr
    );
    env.run(&["store", "set", "vault", "sse_customer_key=@/no/such/file"])
        .ok();
    let r = env.run(&["at", &store, "ls"]).code(18);
    assert!(r.one_line_error().contains("/no/such/file"), "{}", r.stderr);
}

#[test]
fn sse_c_objects_of_a_source_bucket_are_read_with_its_key() {
    let env = Env::new();
    let server = garage();
    let key = env.path("sse.key");
    fs::write(&key, common::pseudo_random(8, 32)).unwrap();
    let bucket = unique("ssecsrc");
    for name in ["a.txt", "dir/b.txt"] {
        let text = format!("secret {name}");
        server.tool(&["putc", &bucket, name, &text, key.to_str().unwrap()]);
    }
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let source = common::add_s3(&env, "source", "enc", server, &bucket, "");
    // Without the key each object is refused, said, and counted.
    let r = env.run(&["at", &store, "backup", &source]).code(3);
    assert!(r.stderr.contains("set sse_customer_key"), "{}", r.stderr);
    env.run(&[
        "source",
        "set",
        "enc",
        &format!("sse_customer_key=@{}", key.display()),
    ])
    .ok();
    let id = env.backup(&store, &source)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env
        .command(&["at", &store, "cat", &format!("{id}:/dir/b.txt")])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"secret dir/b.txt");
}

#[test]
fn sse_s3_store_and_kms_destination_on_moto() {
    let env = Env::new();
    let server = moto();
    let bucket = unique("sses3");
    let store = common::add_s3(&env, "store", "enc", server, &bucket, "");
    env.run(&["store", "set", "enc", "sse=AES256"]).ok();
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.backup(&store, src.to_str().unwrap());
    let heads: Value = serde_json::from_str(&server.tool(&["sse", &bucket])).unwrap();
    let heads = heads.as_object().unwrap();
    assert!(heads.len() > 3);
    for (key, h) in heads {
        assert_eq!(h[0], "AES256", "{key} written without SSE-S3");
    }
    restore_same(&env, &store, &src, "out");

    let target = unique("ssekms");
    let dest = common::add_s3(&env, "destination", "kms", server, &target, "");
    env.run(&[
        "destination",
        "set",
        "kms",
        "sse=aws:kms",
        "sse_kms_key_id=alias/backup",
    ])
    .ok();
    env.run(&["at", &store, "restore", "-to", &dest, "latest"])
        .ok();
    let heads: Value = serde_json::from_str(&server.tool(&["sse", &target])).unwrap();
    let big = &heads["big.bin"];
    assert_eq!(
        (big[0].as_str(), big[1].as_str()),
        (Some("aws:kms"), Some("alias/backup"))
    );
    assert!(heads
        .as_object()
        .unwrap()
        .values()
        .all(|h| h[0] == "aws:kms"));

    let r = env.run(&["store", "set", "enc", "sse=rot13"]);
    assert_eq!(r.code, 0, "set stores it; using it is refused");
    let r = env.run(&["at", &store, "ls"]).code(18);
    assert!(r.one_line_error().contains("sse=AES256"), "{}", r.stderr);
}

#[test]
fn archive_class_for_data_packs_only_and_restores_say_what_to_thaw() {
    let env = Env::new();
    let server = moto();
    let bucket = unique("cold");
    let store = common::add_s3(&env, "store", "cold", server, &bucket, "");
    env.run(&["store", "set", "cold", "storage_class=DEEP_ARCHIVE"])
        .ok();
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.backup(&store, src.to_str().unwrap());
    let classes: Value = serde_json::from_str(&server.tool(&["classes", &bucket])).unwrap();
    let (mut cold, mut warm) = (0, 0);
    for (key, class) in classes.as_object().unwrap() {
        if class == "DEEP_ARCHIVE" {
            assert!(key.starts_with("packs/"), "{key} is in the archive class");
            cold += 1;
        } else {
            warm += 1;
        }
    }
    assert!(cold >= 1 && warm >= 4, "{classes}");
    // Listing, browsing and the next backup read trees and index only: no thaw needed.
    env.run(&["at", &store, "ls", "-R", "latest"]).ok();
    let again = env.backup(&store, src.to_str().unwrap());
    assert_eq!(again["snapshot"]["summary"]["files_read"], 0);

    let out = env.path("out");
    let r = env.restore(&store, &out, "latest").code(20);
    let line = r.one_line_error();
    assert!(
        line.contains("DEEP_ARCHIVE") && line.contains("--thaw"),
        "{line}"
    );
    assert!(
        !out.exists(),
        "a restore that cannot read its data wrote something"
    );
    env.run(&[
        "at",
        &store,
        "restore",
        "--thaw",
        "-to",
        out.to_str().unwrap(),
        "latest",
    ])
    .ok();
    assert_same_tree(&src, &out);
    // Prune deletes wholly unused packs without reading them, and repacks nothing.
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    let pruned = env.prune_now_json(&store);
    assert_eq!(pruned["packs_written"], 0, "{pruned}");

    let bogus = unique("bogus");
    let store = common::add_s3(&env, "store", "bogus", server, &bogus, "");
    env.run(&["store", "set", "bogus", "storage_class=FROZEN_SOLID"])
        .ok();
    env.create(&store).ok();
    let r = env
        .run(&["at", &store, "backup", src.to_str().unwrap()])
        .code(19);
    assert!(r.one_line_error().contains("storage_class"), "{}", r.stderr);
}

#[test]
fn object_lock_keeps_retained_packs_and_prune_reclaims_what_expired() {
    let env = Env::new();
    let server = moto();
    // A bucket made without Object Lock cannot get it: create says so.
    let plain = unique("plain");
    server.tool(&["put", &plain, "other", "data"]);
    let store = common::add_s3(&env, "store", "plain", server, &plain, "kloset");
    env.run(&["store", "set", "plain", "object_lock_days=1"])
        .ok();
    let r = env.create(&store).code(18);
    assert!(r.one_line_error().contains("Object Lock"), "{}", r.stderr);
    env.run(&["store", "set", "plain", "object_lock_mode=forever"])
        .ok();
    env.run(&["at", &store, "ls"]).code(18);

    // A bucket kloset makes gets Object Lock, and every object a default retention.
    let bucket = unique("vault");
    let store = common::add_s3(&env, "store", "vault", server, &bucket, "");
    env.run(&[
        "store",
        "set",
        "vault",
        "object_lock_days=1",
        "object_lock_mode=governance",
    ])
    .ok();
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.backup(&store, src.to_str().unwrap());
    fs::write(src.join("big.bin"), common::pseudo_random(42, 3_000_000)).unwrap();
    env.backup(&store, src.to_str().unwrap());
    let dates: Value = serde_json::from_str(&server.tool(&["retention", &bucket])).unwrap();
    for (key, until) in dates.as_object().unwrap() {
        if ["packs/", "index/", "snapshots/", "config"]
            .iter()
            .any(|p| key.starts_with(p))
        {
            assert!(until.is_string(), "{key} has no retention");
        }
    }

    // Retained packs are not deleted, whatever forget and prune say.
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    let first = env.prune_now_json(&store);
    assert!(first["packs_retained"].as_u64().unwrap() > 0, "{first}");
    assert_eq!(first["packs_deleted"], 0, "{first}");
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out1");
    env.restore(&store, &out, "latest").ok();
    assert_same_tree(&src, &out);

    // Once the retention ends, prune reclaims them, and what is in use is retained again.
    server.tool(&["expire", &bucket, "2"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let second = env.prune_now_json(&store);
    assert!(second["packs_deleted"].as_u64().unwrap() > 0, "{second}");
    assert!(
        second["retention_extended"].as_u64().unwrap() > 0,
        "{second}"
    );
    let dates: Value = serde_json::from_str(&server.tool(&["retention", &bucket])).unwrap();
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    for (key, until) in dates.as_object().unwrap() {
        if key.starts_with("packs/") || key.starts_with("snapshots/") {
            let until = chrono::DateTime::parse_from_rfc3339(until.as_str().unwrap()).unwrap();
            assert!(until > soon, "{key} in use but retained only until {until}");
        }
    }
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out2");
    env.restore(&store, &out, "latest").ok();
    assert_same_tree(&src, &out);
}
