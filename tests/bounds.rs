//! Objects over their kind's bound are damage, never read whole (peak memory of the process
//! shows it), and a backup never writes a tree larger than readers accept.

mod common;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{pseudo_random, Env};

/// Exit code, stderr, and the process's peak resident memory in KiB (from `wait4`, so only
/// this child counts).
// The child is reaped by `wait4`, which `Child::wait` cannot replace: it reports no rusage.
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: Command) -> (i32, String, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kloset");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let _ = out.join();
    let stderr = err.join().unwrap();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, stderr, usage.ru_maxrss as u64)
}

/// A sparse file of `len` bytes: a large object that costs no disk.
fn plant(path: &Path, len: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::File::create(path).unwrap().set_len(len).unwrap();
}

fn small_store(env: &Env) -> String {
    let src = env.path("src");
    for i in 0..20u64 {
        let dir = src.join(format!("d{}", i % 2));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i}")), pseudo_random(i, 20_000)).unwrap();
    }
    let store = env.path("store").to_str().unwrap().to_string();
    env.create_small_packs(&store).ok();
    env.backup(&store, src.to_str().unwrap());
    store
}

#[test]
fn planted_oversized_objects_are_damage_and_never_read_whole() {
    let env = Env::new();
    let store = small_store(&env);
    let (code, stderr, normal_kib) = run_measured(env.command(&["at", &store, "check"]));
    assert_eq!(code, 0, "{stderr}");
    let root = Path::new(&store);
    let name = "ab".repeat(32);
    let index_mib = 64;
    plant(&root.join("index").join(&name), index_mib << 20);
    plant(&root.join("snapshots").join(&name), 17 << 20);
    plant(&root.join("dicts").join(&name), 2 << 20);
    plant(&root.join("keys").join(&name), 1 << 20);
    let (code, stderr, planted_kib) = run_measured(env.command(&["at", &store, "check"]));
    println!("check: peak {normal_kib} KiB, {planted_kib} KiB with the objects planted");
    // Well below the planted index file: it was never read whole (main read it, and copied
    // it twice more while opening it).
    assert!(
        planted_kib < normal_kib + (16 << 10),
        "peak {planted_kib} KiB with a {index_mib} MiB index file planted, {normal_kib} KiB without"
    );
    assert_eq!(code, 17, "{stderr}");
    for what in ["index file", "snapshot", "dictionary"] {
        let said = stderr
            .lines()
            .any(|l| l.contains(what) && l.contains("bytes such an object can be: not read"));
        assert!(said, "{what} not reported: {stderr}");
    }
    // What the key object and the snapshot cost: nothing else. The damaged index file is what
    // `repair index` removes.
    env.run(&["at", &store, "ls"]).ok();
    fs::remove_file(root.join("snapshots").join(&name)).unwrap();
    fs::remove_file(root.join("dicts").join(&name)).unwrap();
    // `check` names the planted key object as a problem until it is deleted.
    fs::remove_file(root.join("keys").join(&name)).unwrap();
    env.run(&["at", &store, "repair", "index"]).ok();
    assert!(!root.join("index").join(&name).exists());
    env.run(&["at", &store, "check"]).ok();
}

#[test]
fn a_directory_wider_than_one_tree_page_is_paged_and_restores_exactly() {
    let mut env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("small")).unwrap();
    fs::create_dir_all(src.join("big")).unwrap();
    fs::write(src.join("small").join("a"), b"a").unwrap();
    for i in 0..300 {
        fs::write(src.join("big").join(format!("file-{i:03}")), format!("{i}")).unwrap();
    }
    let store = env.local_store();
    // Three hundred entries make a tree of tens of KiB; trees are paged at 4000 bytes.
    env.extra_env
        .push(("KLOSET_TEST_TREE_LIMIT".into(), "4000".into()));
    let first = env.backup(&store, src.to_str().unwrap());
    let listed = env
        .run(&[
            "--json",
            "at",
            &store,
            "ls",
            "-R",
            first["id"].as_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(303));
    // One entry changed: the next backup pages the directory again, and prune of the first
    // snapshot keeps every page the second needs.
    fs::write(src.join("big").join("file-150"), b"changed").unwrap();
    env.backup(&store, src.to_str().unwrap());
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    env.run(&["at", &store, "prune"]).ok();
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out");
    env.restore(&store, &out, "latest").ok();
    common::assert_same_tree(&src, &out);
}

#[test]
fn an_entry_larger_than_a_tree_may_be_fails_the_backup_before_the_commit() {
    let mut env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("small")).unwrap();
    fs::create_dir_all(src.join("big")).unwrap();
    fs::write(src.join("small").join("a"), b"a").unwrap();
    fs::write(src.join("big").join("n".repeat(250)), b"x").unwrap();
    let store = env.local_store();
    // An entry whose name alone is 250 bytes cannot fit a tree of 300 bytes, paged or not.
    env.extra_env
        .push(("KLOSET_TEST_TREE_LIMIT".into(), "300".into()));
    let r = env
        .run(&["at", &store, "backup", src.to_str().unwrap()])
        .code(24);
    let line = r.one_line_error();
    assert!(line.contains("nothing was committed"), "{line}");
    assert!(line.contains("directory src/big"), "{line}");
    assert!(line.contains("the 300 bytes a tree may be"), "{line}");
    let listed = env.run(&["--json", "at", &store, "ls"]).ok().json();
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
    fs::remove_dir_all(src.join("big")).unwrap();
    env.run(&["at", &store, "backup", src.to_str().unwrap()])
        .ok();
}

#[test]
fn a_version_1_store_still_opens_and_keeps_working_beside_a_version_2_one() {
    let mut env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..50 {
        fs::write(src.join("d").join(format!("f{i}")), format!("{i}")).unwrap();
    }
    let version = |store: &str| -> u64 {
        let config: serde_json::Value =
            serde_json::from_slice(&fs::read(Path::new(store).join("config")).unwrap()).unwrap();
        config["version"].as_u64().unwrap()
    };
    let current = env.local_store();
    assert_eq!(version(&current), 2, "new stores have binary index files");
    // The stores kloset made before binary index files: version 1, JSON index files, which it
    // keeps writing (a kloset that reads only version 1 may still use them).
    env.extra_env
        .push(("KLOSET_TEST_FORMAT_VERSION".into(), "1".into()));
    let old = env.path("old").to_str().unwrap().to_string();
    env.create(&old).ok();
    env.extra_env.clear();
    assert_eq!(version(&old), 1);
    for store in [&old, &current] {
        env.backup(store, src.to_str().unwrap());
        fs::write(src.join("d").join("f7"), b"changed").unwrap();
        env.backup(store, src.to_str().unwrap());
        env.run(&["at", store, "forget", "--keep-last", "1"]).ok();
        env.run(&["at", store, "prune"]).ok();
        env.run(&["at", store, "check", "--read-data"]).ok();
        let out = env.path(&format!("out-{}", version(store)));
        env.restore(store, &out, "latest").ok();
        common::assert_same_tree(&src, &out);
        assert_eq!(version(store), if store == &old { 1 } else { 2 });
    }
}
