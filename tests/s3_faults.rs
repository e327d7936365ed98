//! S3 under ordinary network faults: a proxy of our own on 127.0.0.1 injects 503 SlowDown,
//! 500, connection resets in the middle of responses and delays into 10 % of the requests
//! between kloset and a real server (Garage, moto). Backups to and restores from an S3 store,
//! backups of a bucket and restores into a bucket must all complete, byte-identical.

mod common;

use std::fs;
use std::path::Path;

use common::proxy::Proxy;
use common::servers::{garage, moto, S3Server};
use common::{assert_same_tree, pseudo_random, unique, Env};
use serde_json::Value;

const RATE_PER_THOUSAND: u64 = 100;

fn tree(root: &Path) {
    for i in 0..40u64 {
        let dir = root.join(format!("d{}", i % 4));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("f{i:02}")),
            pseudo_random(i, 1000 + (i as usize) * 4000),
        )
        .unwrap();
    }
    fs::write(root.join("big.bin"), pseudo_random(99, 6 * 1024 * 1024)).unwrap();
}

fn through(server: &S3Server, proxy: &Proxy) -> S3Server {
    S3Server {
        host: proxy.host.clone(),
        ..server.clone()
    }
}

fn add(env: &Env, role: &str, name: &str, server: &S3Server, bucket: &str, prefix: &str) -> String {
    common::add_s3(env, role, name, server, bucket, prefix)
}

#[test]
fn an_s3_store_survives_faults_on_backup_and_restore() {
    let server = garage();
    let proxy = Proxy::start(&server.host);
    let env = Env::new();
    let store = add(
        &env,
        "store",
        "s",
        &through(server, &proxy),
        &server.bucket,
        &unique("faulty"),
    );
    env.create(&store).ok();
    let src = env.path("src");
    tree(&src);
    proxy.set_fault_rate(RATE_PER_THOUSAND);
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();
    assert!(proxy.faults_injected() > 0);
    proxy.set_fault_rate(0);
    assert_same_tree(&src, &out);
    env.run(&["at", &store, "check", "--read-data"]).ok();
}

fn bucket_round_trip_under_faults(server: &S3Server, tags: bool) {
    let proxy = Proxy::start(&server.host);
    let env = Env::new();
    let bucket = unique("src");
    let mut fill = vec!["fill", bucket.as_str()];
    if tags {
        fill.push("--tags");
    }
    server.tool(&fill);
    let faulty = through(server, &proxy);
    let source = add(&env, "source", "b", &faulty, &bucket, "");
    let target = unique("dst");
    let dest = add(&env, "destination", "d", &faulty, &target, "restored");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    proxy.set_fault_rate(RATE_PER_THOUSAND);
    let snap = env.backup(store, &source);
    assert_eq!(snap["snapshot"]["summary"]["errors"], 0, "{snap}");
    let id = snap["id"].as_str().unwrap();
    env.run(&["at", store, "restore", "-to", &dest, id]).ok();
    assert!(proxy.faults_injected() > 0);
    proxy.set_fault_rate(0);
    let a: Value = serde_json::from_str(&server.tool(&["dump", &bucket, ""])).unwrap();
    let b: Value = serde_json::from_str(&server.tool(&["dump", &target, "restored/"])).unwrap();
    assert_eq!(a, b, "the restored bucket equals the source, under faults");
}

#[test]
fn a_bucket_backup_and_a_restore_into_a_bucket_survive_faults_on_garage() {
    bucket_round_trip_under_faults(garage(), false);
}

#[test]
fn a_bucket_backup_and_a_restore_into_a_bucket_survive_faults_on_moto() {
    bucket_round_trip_under_faults(moto(), true);
}

#[test]
fn a_source_that_never_answers_is_a_clear_error_not_a_hang() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let env = Env::new();
    let store = env.path("store");
    env.create(store.to_str().unwrap()).ok();
    let started = std::time::Instant::now();
    let r = env
        .run(&[
            "-o",
            "use_tls=false",
            "-o",
            "access_key=silent-key",
            "-o",
            "secret_access_key=silent-secret",
            "-o",
            "timeout=2",
            "at",
            store.to_str().unwrap(),
            "backup",
            &format!("s3://{host}/bucket"),
        ])
        .code(19);
    assert!(
        r.one_line_error().contains("did not answer within 2 s"),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn prune_and_key_changes_on_an_s3_store_survive_faults() {
    let server = garage();
    let proxy = Proxy::start(&server.host);
    let mut env = Env::new();
    let store = add(
        &env,
        "store",
        "s",
        &through(server, &proxy),
        &server.bucket,
        &unique("faulty-prune"),
    );
    env.create(&store).ok();
    let src = env.path("src");
    tree(&src);
    env.backup(&store, src.to_str().unwrap());
    for i in 0..20u64 {
        let f = src.join(format!("d{}", i % 4)).join(format!("f{i:02}"));
        fs::write(f, pseudo_random(i + 500, 20_000)).unwrap();
    }
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    proxy.set_fault_rate(RATE_PER_THOUSAND);
    env.prune_now(&store).ok();
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), "second".into()));
    env.run(&["at", &store, "key", "add"]).ok();
    assert!(proxy.faults_injected() > 0);
    proxy.set_fault_rate(0);
    env.extra_env.clear();
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), "second".into()));
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();
    assert_same_tree(&src, &out);
}

#[test]
fn sync_both_ways_survives_faults() {
    let server = garage();
    let proxy = Proxy::start(&server.host);
    let mut env = Env::new();
    env.extra_env
        .push(("KLOSET_OTHER_PASSPHRASE".into(), "correct horse".into()));
    let local = env.path("local").to_str().unwrap().to_string();
    env.create(&local).ok();
    let src = env.path("src");
    tree(&src);
    env.backup(&local, src.to_str().unwrap());
    let remote = add(
        &env,
        "store",
        "s",
        &through(server, &proxy),
        &server.bucket,
        &unique("faulty-sync"),
    );
    env.create(&remote).ok();
    proxy.set_fault_rate(RATE_PER_THOUSAND);
    env.run(&["at", &local, "sync", "to", &remote]).ok();
    let back = env.path("back").to_str().unwrap().to_string();
    env.create(&back).ok();
    env.run(&["at", &back, "sync", "from", &remote]).ok();
    assert!(proxy.faults_injected() > 0);
    proxy.set_fault_rate(0);
    for store in [&remote, &back] {
        env.run(&["at", store, "check", "--read-data"]).ok();
        let out = env.path(&format!("out-{}", store.len()));
        env.restore(store, &out, "latest").ok();
        assert_same_tree(&src, &out);
    }
}

/// Object keys of the packs the requests seen so far uploaded.
fn uploaded_packs(proxy: &Proxy) -> Vec<String> {
    let mut packs: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|l| l.starts_with("PUT "))
        .filter_map(|l| {
            let at = l.find("/packs/")?;
            let key = &l[at + 1..];
            Some(key[..key.find([' ', '?'])?].to_string())
        })
        .collect();
    packs.sort();
    packs.dedup();
    packs
}

#[test]
fn read_data_records_no_damage_for_packs_it_could_not_read_and_says_why() {
    let server = garage();
    let proxy = Proxy::start(&server.host);
    let env = Env::new();
    let store = add(
        &env,
        "store",
        "s",
        &through(server, &proxy),
        &server.bucket,
        &unique("unreadable"),
    );
    env.create(&store).ok();
    let src = env.path("src");
    tree(&src);
    env.backup(&store, src.to_str().unwrap());
    let packs = uploaded_packs(&proxy);
    assert!(packs.len() >= 3, "{packs:?}");
    proxy.fail_key(&packs[0], "403 Forbidden", "AccessDenied");
    proxy.fail_key(&packs[1], "403 Forbidden", "InvalidObjectState");
    proxy.fail_key(&packs[2], "503 Service Unavailable", "SlowDown");
    proxy.reset();
    let r = env.run(&["at", &store, "check", "--read-data"]).code(23);
    for (pack, why) in [
        (&packs[0], "access denied"),
        (&packs[1], "frozen"),
        (&packs[2], "503"),
    ] {
        let line = r
            .stderr
            .lines()
            .find(|l| l.starts_with("not read: ") && l.contains(pack.as_str()))
            .unwrap_or_else(|| panic!("{pack} not named: {}", r.stderr));
        assert!(line.contains(why), "{line}\n{}", r.stderr);
    }
    assert!(!r.stderr.contains("problem: "), "{}", r.stderr);
    let recorded: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|l| l.starts_with("PUT ") && l.contains("/damaged/"))
        .collect();
    assert!(recorded.is_empty(), "{recorded:?}");
    // Readable again: nothing was recorded, so the store is whole.
    proxy.clear_failed_keys();
    env.run(&["at", &store, "check", "--read-data"]).ok();
}

#[test]
fn a_folder_whose_listing_is_refused_is_reported_and_the_rest_backed_up() {
    let server = garage();
    let proxy = Proxy::start(&server.host);
    let env = Env::new();
    let bucket = unique("folders");
    server.tool(&["fill", &bucket]);
    let source = add(&env, "source", "b", &through(server, &proxy), &bucket, "");
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    // The bucket is listed a folder at a time: refuse the listing of one folder for good.
    proxy.fail_key("prefix=2024%2F01%2F", "403 Forbidden", "AccessDenied");
    let r = env
        .run(&["--json", "at", &store, "backup", &source])
        .code(3);
    assert!(
        r.stderr.contains("folder '2024/01/' could not be listed"),
        "{}",
        r.stderr
    );
    let out = env.path("out");
    env.restore(&store, &out, "latest:/2024").ok();
    assert!(out.join("02/notes.md").exists());
    assert!(!out.join("01/photo.jpg").exists());
    // Listable again: the next backup has it.
    proxy.clear_failed_keys();
    env.run(&["at", &store, "backup", &source]).ok();
    let again = env.path("again");
    env.restore(&store, &again, "latest:/2024").ok();
    assert!(again.join("01/photo.jpg").exists());
}

#[test]
fn a_refused_tag_request_costs_that_object_its_tags_and_no_other_object_its_own() {
    let server = moto();
    let proxy = Proxy::start(&server.host);
    let env = Env::new();
    let bucket = unique("tags");
    server.tool(&["fill", &bucket, "--tags"]);
    let source = add(&env, "source", "b", &through(server, &proxy), &bucket, "");
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    // One tagged object refuses its tags; the others keep theirs.
    proxy.fail_key("/a?tagging", "403 Forbidden", "AccessDenied");
    let run = env
        .run(&["--json", "at", &store, "backup", &source])
        .code(3);
    assert!(run.stderr.contains("tags of object 'a'"), "{}", run.stderr);
    let id = run.json()["id"].as_str().unwrap().to_string();
    let listed = env
        .run(&["--json", "at", &store, "ls", &format!("{id}:/meta")])
        .ok()
        .json();
    assert_eq!(
        listed[0]["s3"]["tags"],
        serde_json::json!({"team": "storage", "tier": "gold"}),
        "tags of the objects after the refused one are still read"
    );
}
