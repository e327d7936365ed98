//! Control objects that cannot be forged, and damage records that are honest: marks, locks,
//! leases and damage records planted by someone else change nothing that loses or keeps data,
//! `check` names them, and `check --read-data` records damage only for integrity failures and
//! clears the record of a pack that verifies again.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{pseudo_random, Env};
use kloset::repo::backend::Backend;
use kloset::repo::id::Id;
use kloset::repo::Repo;
use object_store::local::LocalFileSystem;

/// A store of 1 MiB packs holding one backup of ~1.5 MB of incompressible files.
fn setup(env: &Env) -> (String, PathBuf) {
    let src = env.path("src");
    write_files(&src, 0);
    let store = env.path("store").to_str().unwrap().to_string();
    env.create_small_packs(&store).ok();
    env.backup(&store, src.to_str().unwrap());
    (store, src)
}

fn write_files(src: &Path, generation: u64) {
    for i in 0..30u64 {
        let dir = src.join(format!("d{}", i % 3));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("f{i:02}")),
            pseudo_random(i + 1000 * generation, 50_000),
        )
        .unwrap();
    }
}

fn data_packs(store: &str) -> Vec<PathBuf> {
    let mut packs: Vec<PathBuf> = common::files_under(&Path::new(store).join("packs"))
        .into_iter()
        .filter(|p| fs::metadata(p).unwrap().len() > 100_000)
        .collect();
    packs.sort();
    packs
}

fn pack_hex(pack: &Path) -> String {
    pack.file_name().unwrap().to_str().unwrap().to_string()
}

/// Plants an object as someone other than kloset would: any body, no MAC.
fn plant(store: &str, key: &str, body: &[u8]) -> PathBuf {
    let path = Path::new(store).join(key);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, body).unwrap();
    path
}

/// Dates an object back, as if written that long ago (the server's LastModified).
fn age(path: &Path, by: Duration) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

async fn open(store: &str) -> Repo {
    let root = std::path::absolute(store).unwrap();
    let fs = LocalFileSystem::new_with_prefix(&root).unwrap();
    Repo::open(
        Backend::new(Arc::new(fs), store.into(), false),
        "correct horse",
    )
    .await
    .unwrap()
}

fn new_blobs(backup: &serde_json::Value) -> u64 {
    backup["snapshot"]["summary"]["new_blobs"].as_u64().unwrap()
}

#[test]
fn a_damage_record_on_a_healthy_pack_is_removed_by_read_data_and_costs_nothing_after() {
    let env = Env::new();
    let (store, src) = setup(&env);
    let pack = data_packs(&store)[0].clone();
    // As a kloset before MACs wrote it (an empty object), and as this one writes it (a
    // record made by a read that failed for another reason than damage, by an older build).
    let planted = plant(&store, &format!("damaged/{}", pack_hex(&pack)), b"");
    let other = data_packs(&store)[1].clone();
    let id = Id::parse(&pack_hex(&other)).unwrap();
    runtime().block_on(async { open(&store).await.mark_damaged(&id).await.unwrap() });
    let authentic = Path::new(&store).join(format!("damaged/{}", pack_hex(&other)));
    assert!(authentic.exists());

    let r = env.run(&["at", &store, "check", "--read-data"]).ok();
    for (path, pack) in [(&planted, &pack), (&authentic, &other)] {
        assert!(
            !path.exists(),
            "the record of a pack that verifies is removed"
        );
        assert!(
            r.stderr
                .contains(&format!("{} verified: its damage record", pack_hex(pack))),
            "{}",
            r.stderr
        );
    }
    // The next backup of the same source saves nothing again.
    let again = env.backup(&store, src.to_str().unwrap());
    assert_eq!(new_blobs(&again), 0, "{again}");
    // And prune does not keep the pack for damage: once unused, it goes.
    write_files(&src, 1);
    env.backup(&store, src.to_str().unwrap());
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    env.prune_now(&store).ok();
    assert!(
        !pack.exists() && !other.exists(),
        "unused packs are deleted"
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
}

#[test]
fn a_planted_damage_record_is_ignored_by_backup_and_named_by_check() {
    let env = Env::new();
    let (store, src) = setup(&env);
    let pack = data_packs(&store)[0].clone();
    let key = format!("damaged/{}", pack_hex(&pack));
    plant(&store, &key, br#"{"v":1,"mac":"00"}"#);
    let again = env.backup(&store, src.to_str().unwrap());
    assert_eq!(
        new_blobs(&again),
        0,
        "a planted record makes nothing upload again"
    );
    let r = env.run(&["at", &store, "check"]).ok();
    assert!(
        r.stderr
            .contains(&format!("warning: {key} carries no valid MAC")),
        "{}",
        r.stderr
    );
    // Prune leaves it (it may be an older kloset's real record) for `check --read-data`,
    // which reads the pack, finds it sound and removes the record.
    env.prune_now(&store).ok();
    assert!(Path::new(&store).join(&key).exists());
    assert!(pack.exists());
    env.run(&["at", &store, "check", "--read-data"]).ok();
    assert!(!Path::new(&store).join(&key).exists());
}

#[test]
fn a_forged_prune_lock_does_not_block_prune() {
    let env = Env::new();
    let (store, _) = setup(&env);
    let key = "locks/prune-9999999999999999-0123456789abcdef";
    plant(
        &store,
        key,
        br#"{"host":"elsewhere","pid":1,"boot_id":"b","pid_ns":"p","mac":"00"}"#,
    );
    let r = env.prune_now(&store).ok();
    assert!(
        r.stderr
            .contains(&format!("warning: {key}: a prune lock without a valid MAC")),
        "{}",
        r.stderr
    );
    let r = env.run(&["at", &store, "check"]).ok();
    assert!(r.stderr.contains(key), "check names it: {}", r.stderr);
    // An older kloset's lock (plain owner JSON) is given way to while live by the server's
    // time, whatever its name says; an hour after it was written it holds nothing up.
    let old = "locks/prune-9999999999999999-fedcba9876543210";
    plant(
        &store,
        old,
        br#"{"host":"elsewhere","pid":1,"boot_id":"b","pid_ns":"p"}"#,
    );
    env.run(&["at", &store, "prune", "--delete-delay", "0"])
        .code(2);
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(Path::new(&store).join(old))
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    env.prune_now(&store).ok();
}

/// A second backup of other files, then only it kept: the first backup's data packs are unused.
fn unused_packs(env: &Env, store: &str, src: &Path) -> Vec<PathBuf> {
    let first = data_packs(store);
    write_files(src, 1);
    env.backup(store, src.to_str().unwrap());
    env.run(&["at", store, "forget", "--keep-last", "1"]).ok();
    first
}

#[test]
fn a_planted_mark_does_not_start_the_delay() {
    let env = Env::new();
    let (store, src) = setup(&env);
    let unused = unused_packs(&env, &store, &src);
    let pack = &unused[0];
    // Planted two hours ago (an object's age cannot be forged; someone's mark can be old).
    let ms = 1_700_000_000_000u64;
    let mark = plant(&store, &format!("retiring/{}.{ms}", pack_hex(pack)), b"");
    age(&mark, Duration::from_secs(2 * 3600));
    let r = env
        .run(&["at", &store, "prune", "--delete-delay", "1h"])
        .ok();
    assert!(pack.exists(), "deleted on a planted mark: {}", r.stderr);
    assert!(!mark.exists(), "the planted mark is removed: {}", r.stderr);
    assert!(
        r.stderr.contains("a mark without a valid MAC, removed"),
        "{}",
        r.stderr
    );
    // This prune's own marks are what a later prune waits on.
    let own = common::files_under(&Path::new(&store).join("retiring"));
    assert!(
        own.iter().any(|m| pack_hex(m).starts_with(&pack_hex(pack))),
        "{own:?}"
    );
}

#[test]
fn with_no_delay_a_planted_old_mark_does_not_let_prune_delete_a_live_writers_pack() {
    let env = Env::new();
    let (store, src) = setup(&env);
    let rt = runtime();
    // A writer that is still running: its lease started before the packs below were written.
    let writer = rt.block_on(async {
        let repo = open(&store).await;
        repo.take_lease("backup").await.unwrap();
        repo
    });
    let before: Vec<PathBuf> = data_packs(&store);
    write_files(&src, 1);
    let second = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh: Vec<PathBuf> = data_packs(&store)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    // The new snapshot goes: its packs are unused, but newer than the live lease's start.
    env.run(&["at", &store, "rm", &second]).ok();
    let pack = &fresh[0];
    let mark = plant(&store, &format!("retiring/{}.1", pack_hex(pack)), b"");
    age(&mark, Duration::from_secs(3600));
    let r = env.prune_now(&store).ok();
    assert!(
        pack.exists(),
        "a pack newer than a live lease was deleted on someone's mark: {}",
        r.stderr
    );
    rt.block_on(writer.release_lease());
}
