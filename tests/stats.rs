//! `stats` in its three modes and by host and tag, on a hand-made tree whose figures are worked
//! out here; and `forget --dry-run`'s estimate of what a prune then frees, against a real
//! forget and prune.

mod common;

use std::fs;
use std::path::Path;

use common::Env;
use serde_json::{json, Value};

const A: usize = 20_000;
const C1: usize = 5_000;
const C2: usize = 6_000;
const H: usize = 3_000;

/// Two snapshots of one tree, by hosts web1 (tagged `first`) then web2. Each holds a.txt and
/// b.txt (the same compressible content), sub/c.bin (changed between them: C1 then C2 bytes),
/// sub/h1 and sub/h2 (one file of H bytes, hard-linked) and a symlink.
fn two_snapshots(env: &Env, store: &str) -> (String, String) {
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.txt"), "a".repeat(A)).unwrap();
    fs::write(src.join("b.txt"), "a".repeat(A)).unwrap();
    fs::write(src.join("sub/c.bin"), common::pseudo_random(1, C1)).unwrap();
    fs::write(src.join("sub/h1"), common::pseudo_random(3, H)).unwrap();
    fs::hard_link(src.join("sub/h1"), src.join("sub/h2")).unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("l")).unwrap();
    let first = backup(
        env,
        store,
        &src,
        "web1",
        "2024-01-01 10:00:00",
        Some("first"),
    );
    fs::write(src.join("sub/c.bin"), common::pseudo_random(2, C2)).unwrap();
    let second = backup(env, store, &src, "web2", "2024-01-02 10:00:00", None);
    (first, second)
}

fn backup(env: &Env, store: &str, src: &Path, host: &str, time: &str, tag: Option<&str>) -> String {
    let mut args = vec![
        "--json", "at", store, "backup", "--host", host, "--time", time,
    ];
    if let Some(t) = tag {
        args.extend(["--tag", t]);
    }
    args.push(src.to_str().unwrap());
    let v = env.run(&args).ok().json();
    v["id"].as_str().unwrap().to_string()
}

fn stats(env: &Env, store: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "at", store, "stats"];
    args.extend(extra);
    env.run(&args).ok().json()
}

fn restore_size(snapshots: u64, files: u64, size: usize) -> Value {
    json!({"snapshots_count": snapshots, "total_file_count": files, "total_size": size})
}

fn pack_bytes(store: &str) -> u64 {
    common::files_under(&Path::new(store).join("packs"))
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn stats_counts_by_mode_and_group_and_forget_estimates_what_prune_frees() {
    let env = Env::new();
    let store = env.local_store();
    let (first, _second) = two_snapshots(&env, &store);

    // Restore-size: five files a snapshot (both hard links, not the symlink), the linked
    // file's bytes once per snapshot.
    let (one, two) = (2 * A + C1 + H, 2 * A + C2 + H);
    assert_eq!(stats(&env, &store, &[]), restore_size(2, 10, one + two));
    // Distinct contents: a.txt's, both c.bin's and h1's.
    assert_eq!(
        stats(&env, &store, &["--mode", "files-by-contents"]),
        restore_size(2, 4, A + C1 + C2 + H)
    );
    // Raw data: those four contents and four trees (root and sub, each changed by c.bin).
    let raw = stats(&env, &store, &["--mode", "raw-data"]);
    assert_eq!(raw["total_blob_count"], 8, "{raw}");
    assert_eq!(raw["snapshots_count"], 2, "{raw}");
    let plain = raw["total_uncompressed_size"].as_u64().unwrap();
    let stored = raw["total_size"].as_u64().unwrap();
    assert!(plain > (A + C1 + C2 + H) as u64, "{raw}");
    assert!(stored < plain, "a.txt compresses: {raw}");
    let ratio = raw["compression_ratio"].as_f64().unwrap();
    assert!((ratio - plain as f64 / stored as f64).abs() < 1e-9, "{raw}");
    assert!(raw.get("total_file_count").is_none(), "{raw}");

    // By host: each snapshot apart, and the total beside.
    let by_host = stats(&env, &store, &["--by", "host"]);
    let group = |host: &str, size| {
        let mut g = restore_size(1, 5, size);
        g["host"] = json!(host);
        g
    };
    assert_eq!(
        by_host,
        json!({"total": restore_size(2, 10, one + two),
               "groups": [group("web1", one), group("web2", two)]})
    );
    // Raw data by host: a.txt's and h1's contents, its c.bin and its two trees each; the
    // total holds the shared two once: eight, not ten.
    let raw_by_host = stats(&env, &store, &["--mode", "raw-data", "--by", "host"]);
    assert_eq!(raw_by_host["total"]["total_blob_count"], 8);
    for g in raw_by_host["groups"].as_array().unwrap() {
        assert_eq!(g["total_blob_count"], 5, "{raw_by_host}");
    }
    // By tag: the untagged snapshot's group has no value.
    let by_tag = stats(&env, &store, &["--by", "tag"]);
    assert_eq!(by_tag["groups"][0]["tag"], Value::Null, "{by_tag}");
    assert_eq!(by_tag["groups"][0]["total_size"], two, "{by_tag}");
    assert_eq!(by_tag["groups"][1]["tag"], "first", "{by_tag}");
    assert_eq!(by_tag["groups"][1]["total_size"], one, "{by_tag}");

    // Choosing snapshots: by id prefix (named twice, counted once), `latest` of a host, filters.
    let prefix = &first[..8];
    assert_eq!(
        stats(&env, &store, &[prefix, &first]),
        restore_size(1, 5, one)
    );
    assert_eq!(
        stats(&env, &store, &["latest", "--host", "web2"]),
        restore_size(1, 5, two)
    );
    assert_eq!(
        stats(&env, &store, &["--tag", "first"]),
        restore_size(1, 5, one)
    );
    let none = stats(&env, &store, &["--mode", "raw-data", "--host", "web9"]);
    assert_eq!(
        none,
        json!({"snapshots_count": 0, "total_size": 0, "total_blob_count": 0,
               "total_uncompressed_size": 0})
    );
    let human = env
        .run(&["at", &store, "stats", "--mode", "raw-data", "--by", "host"])
        .ok()
        .stdout;
    assert!(
        human.starts_with("Stats in raw-data mode, by host:"),
        "{human}"
    );
    for want in [
        "host web1:",
        "total:",
        "Total Blob Count:  8",
        "Compression Ratio:",
    ] {
        assert!(human.contains(want), "{want}: {human}");
    }
    let bad = env.run(&["at", &store, "stats", "00000000"]).code(14);
    bad.one_line_error();

    // forget --dry-run: the plan as before, then what a prune would free: the first
    // snapshot's c.bin and its two trees.
    let keep_one = ["forget", "--keep-last", "1", "--group-by", ""];
    let dry_json = env
        .run(&[&["--json", "at", &store][..], &keep_one, &["--dry-run"]].concat())
        .ok()
        .json();
    assert_eq!(dry_json.as_array().unwrap().len(), 1, "{dry_json}");
    let dry = env
        .run(&[&["at", &store][..], &keep_one, &["--dry-run"]].concat())
        .ok()
        .stdout;
    assert!(dry.contains("would remove 1"), "{dry}");
    let line = dry
        .lines()
        .find(|l| l.starts_with("a prune would then free about "))
        .unwrap_or_else(|| panic!("no estimate: {dry}"));
    let (bytes, blobs) = estimate(line);
    assert_eq!(blobs, 3, "{line}");

    // The real thing: what the store's snapshots need shrinks by exactly that, and the packs
    // by that and what their headers spent on those blobs.
    let packs_before = pack_bytes(&store);
    env.run(&[&["at", &store][..], &keep_one].concat()).ok();
    // Prune finds the same blobs unused.
    let pruned = env.prune_now_json(&store);
    assert_eq!(pruned["unused_bytes"], bytes, "{pruned}");
    let after = stats(&env, &store, &["--mode", "raw-data"]);
    assert_eq!(after["total_blob_count"], 5, "{after}");
    assert_eq!(
        stored - after["total_size"].as_u64().unwrap(),
        bytes,
        "{line}; {after}"
    );
    let freed = packs_before - pack_bytes(&store);
    assert!(
        (bytes..bytes + 1024).contains(&freed),
        "packs shrank by {freed}; estimated {line}"
    );
}

/// `a prune would then free about 1.2 KiB (1234 bytes in 3 blobs)` -> (1234, 3).
fn estimate(line: &str) -> (u64, u64) {
    let inside = line.split_once('(').unwrap().1.trim_end_matches(')');
    let words: Vec<&str> = inside.split_whitespace().collect();
    match words[..] {
        [bytes, "bytes", "in", blobs, "blobs"] => (bytes.parse().unwrap(), blobs.parse().unwrap()),
        _ => panic!("unexpected estimate: {line}"),
    }
}
