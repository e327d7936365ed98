//! What damage in a store costs, case by case: a deleted or damaged data pack, a damaged pack
//! header, a truncated pack, a damaged index file, a damaged snapshot. For each: what `check`,
//! `ls`, `backup` and `restore` do, and that the next backup heals what the source still has.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{assert_same_tree, pseudo_random, Env};

/// A store of small packs holding one backup of a tree of ~1.5 MB of incompressible files.
fn setup(env: &Env) -> (String, PathBuf, String) {
    let src = env.path("src");
    for i in 0..30u64 {
        let dir = src.join(format!("d{}", i % 3));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i:02}")), pseudo_random(i, 50_000)).unwrap();
    }
    let store = env.path("store").to_str().unwrap().to_string();
    env.create_small_packs(&store).ok();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    (store, src, id)
}

fn objects(dir: &Path) -> Vec<PathBuf> {
    let mut all = common::files_under(dir);
    all.sort();
    all
}

/// Data packs are the big ones; tree packs hold a few hundred bytes per directory.
fn data_packs(store: &str) -> Vec<PathBuf> {
    objects(&Path::new(store).join("packs"))
        .into_iter()
        .filter(|p| fs::metadata(p).unwrap().len() > 100_000)
        .collect()
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    f(&mut bytes);
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(path, bytes).unwrap();
}

fn restore_ok(env: &Env, store: &str, src: &Path, id: &str) {
    let out = env.path(&format!("out-{}", rand_suffix()));
    env.restore(store, &out, id).ok();
    assert_same_tree(src, &out);
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn a_deleted_data_pack_is_reported_with_its_files_and_the_next_backup_heals_it() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    fs::remove_file(&data_packs(&store)[0]).unwrap();
    let r = env.run(&["at", &store, "check"]).code(17);
    assert!(
        r.stderr.contains("is missing from the store"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("snapshot {}", &id[..8])),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("/d"), "names the files: {}", r.stderr);
    assert!(r.stderr.contains("run 'kloset backup'"), "{}", r.stderr);
    // The next backup does not trust the index for the lost blobs: it reads and stores them.
    let healed = env.backup(&store, src.to_str().unwrap());
    assert!(healed["snapshot"]["summary"]["new_bytes"].as_u64().unwrap() > 0);
    env.run(&["at", &store, "check", "--read-data"]).ok();
    // Content addressing: the old snapshot is whole again too.
    restore_ok(&env, &store, &src, &id);
    restore_ok(&env, &store, &src, healed["id"].as_str().unwrap());
}

#[test]
fn a_damaged_data_pack_is_found_by_read_data_recorded_and_healed() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    edit(&data_packs(&store)[0], |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
    });
    let r = env.run(&["at", &store, "check", "--read-data"]).code(17);
    assert!(
        r.stderr.contains("cannot be restored whole"),
        "{}",
        r.stderr
    );
    // Recorded in the store: the next backup saves the damaged pack's blobs again.
    assert!(Path::new(&store).join("damaged").exists());
    let healed = env.backup(&store, src.to_str().unwrap());
    assert!(healed["snapshot"]["summary"]["new_bytes"].as_u64().unwrap() > 0);
    env.run(&["at", &store, "check", "--read-data"]).ok();
    restore_ok(&env, &store, &src, &id);
}

#[test]
fn a_damaged_pack_header_or_a_truncated_pack_is_detected() {
    let env = Env::new();
    let (store, src, _) = setup(&env);
    let packs = data_packs(&store);
    // A byte of the header (the end of the pack): only a whole-pack read sees it.
    edit(&packs[0], |b| {
        let n = b.len();
        b[n - 10] ^= 0x01;
    });
    env.run(&["at", &store, "check"]).ok();
    let r = env.run(&["at", &store, "check", "--read-data"]).code(17);
    assert!(r.stderr.contains("does not match its name"), "{}", r.stderr);
    // A truncated pack: plain check compares sizes with the index.
    edit(&packs[1], |b| b.truncate(b.len() / 2));
    let r = env.run(&["at", &store, "check"]).code(17);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
    env.backup(&store, src.to_str().unwrap());
    env.run(&["at", &store, "check", "--read-data"]).ok();
}

#[test]
fn a_damaged_index_file_costs_nothing_and_repair_index_writes_it_anew() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    let index = objects(&Path::new(&store).join("index"));
    for f in &index {
        edit(f, |b| b[20] ^= 0xff);
    }
    // Everything still works: the packs are found again from their headers.
    env.run(&["at", &store, "ls"]).ok();
    restore_ok(&env, &store, &src, &id);
    let again = env.backup(&store, src.to_str().unwrap());
    assert_eq!(again["snapshot"]["summary"]["new_bytes"], 0);
    let r = env.run(&["at", &store, "check"]).code(17);
    assert!(r.stderr.contains("repair index"), "{}", r.stderr);
    env.run(&["at", &store, "repair", "index"]).ok();
    env.run(&["at", &store, "check", "--read-data"]).ok();
    restore_ok(&env, &store, &src, &id);
}

#[test]
fn a_damaged_snapshot_is_listed_as_such_and_hides_nothing_else() {
    let env = Env::new();
    let (store, src, first) = setup(&env);
    let second = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let damaged = Path::new(&store).join("snapshots").join(&second);
    edit(&damaged, |b| b[30] ^= 0x01);
    let ls = env.run(&["at", &store, "ls"]).ok();
    assert!(
        ls.stdout.contains(&format!("{}  damaged", &second[..8])),
        "{}",
        ls.stdout
    );
    assert!(ls.stdout.contains(&first[..8]), "{}", ls.stdout);
    // `latest` and the next backup's parent skip it.
    restore_ok(&env, &store, &src, "latest");
    let next = env.backup(&store, src.to_str().unwrap());
    assert_eq!(next["snapshot"]["parent"], first.as_str());
    assert_eq!(next["snapshot"]["summary"]["files_read"], 0);
    let r = env.run(&["at", &store, "check"]).code(17);
    assert!(
        r.stderr.contains(&format!("snapshot {}", &second[..8])),
        "{}",
        r.stderr
    );
    let r = env
        .run(&["at", &store, "restore", "-to", "/tmp/never", &second])
        .code(17);
    assert!(r.one_line_error().contains("damaged"), "{}", r.stderr);
}

#[test]
fn a_restore_from_a_damaged_pack_names_the_files_and_leaves_no_wrong_ones() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    edit(&data_packs(&store)[0], |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
    });
    let out = env.path("out");
    let r = env.restore(&store, &out, &id).code(17);
    let line = r.one_line_error();
    assert!(line.contains("files were not restored"), "{line}");
    assert!(line.contains("/f"), "names the files: {line}");
    let mut restored = 0;
    for f in common::files_under(&out) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".kloset-"),
            "a partial file was left: {f:?}"
        );
        let rel = f.strip_prefix(&out).unwrap();
        assert_eq!(
            fs::read(&f).unwrap(),
            fs::read(src.join(rel)).unwrap(),
            "{rel:?}"
        );
        restored += 1;
    }
    assert!(restored > 0 && restored < 30, "{restored} files restored");
}

#[test]
fn restore_force_never_writes_through_symlinks_in_the_target() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::write(src.join("a/f"), b"from the snapshot").unwrap();
    fs::write(src.join("b"), b"also from the snapshot").unwrap();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let outside = env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("f"), b"outside").unwrap();
    fs::write(outside.join("b-target"), b"outside too").unwrap();
    let target = env.path("target");
    fs::create_dir_all(&target).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("a")).unwrap();
    std::os::unix::fs::symlink(outside.join("b-target"), target.join("b")).unwrap();
    env.restore_forced(&store, &target, &id).ok();
    assert_eq!(fs::read(outside.join("f")).unwrap(), b"outside");
    assert_eq!(fs::read(outside.join("b-target")).unwrap(), b"outside too");
    assert_eq!(
        fs::metadata(outside.join("f"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    assert!(fs::symlink_metadata(target.join("a")).unwrap().is_dir());
    assert!(fs::symlink_metadata(target.join("b")).unwrap().is_file());
    assert_eq!(fs::read(target.join("a/f")).unwrap(), b"from the snapshot");
    assert_eq!(
        fs::read(target.join("b")).unwrap(),
        b"also from the snapshot"
    );
}

#[test]
fn a_damaged_or_altered_config_is_told_apart_from_a_wrong_passphrase() {
    let env = Env::new();
    let (store, _, _) = setup(&env);
    let config = Path::new(&store).join("config");
    let original = fs::read_to_string(&config).unwrap();
    let mut wrong = env.command(&["at", &store, "ls"]);
    let out = wrong.env("KLOSET_PASSPHRASE", "not it").output().unwrap();
    assert_eq!(out.status.code(), Some(12));
    let json: serde_json::Value = serde_json::from_str(&original).unwrap();
    let key = json["master_key"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        if key.starts_with('0') { "1" } else { "0" },
        &key[1..]
    );
    for (what, text) in [
        ("master_key", original.replace(key, &flipped)),
        (
            "pack size",
            original.replace("\"pack_size\": 1048576", "\"pack_size\": 2097152"),
        ),
    ] {
        assert_ne!(text, original, "{what}");
        fs::write(&config, &text).unwrap();
        let r = env.run(&["at", &store, "ls"]).code(17);
        assert!(
            r.one_line_error().contains("config is damaged"),
            "{what}: {}",
            r.stderr
        );
    }
    fs::write(&config, &original).unwrap();
    env.run(&["at", &store, "ls"]).ok();
}

#[test]
fn leftovers_of_a_failed_pack_write_are_reported_and_harmless() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    let pack = &data_packs(&store)[0];
    let leftover =
        pack.with_file_name(format!("{}#1", pack.file_name().unwrap().to_str().unwrap()));
    fs::write(&leftover, b"half a pack").unwrap();
    let r = env.run(&["at", &store, "check"]).ok();
    assert!(r.stderr.contains("partly written files"), "{}", r.stderr);
    restore_ok(&env, &store, &src, &id);
    env.backup(&store, src.to_str().unwrap());
}

/// A small tmpfs, unmounted when dropped (tests run as root, as CI does).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: PathBuf, mib: u32) -> SmallDisk {
        fs::create_dir_all(&dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(
            ok,
            "mounting a tmpfs needs root, as the test suite runs in CI"
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_said_plainly_and_the_store_stays_usable() {
    let env = Env::new();
    let disk = SmallDisk::mount(env.path("small-disk"), 3);
    let store = disk.0.join("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("small"), pseudo_random(1, 10_000)).unwrap();
    fs::write(src.join("big"), pseudo_random(2, 6 * 1024 * 1024)).unwrap();
    let r = env
        .run(&["at", store, "backup", src.to_str().unwrap()])
        .code(1);
    assert!(r.one_line_error().contains("disk is full"), "{}", r.stderr);
    fs::remove_file(src.join("big")).unwrap();
    let id = env.backup(store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.run(&["at", store, "check", "--read-data"]).ok();
    restore_ok(&env, store, &src, &id);
}

#[test]
fn a_deleted_tree_pack_is_reported_and_healed_by_the_next_backup() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    let trees: Vec<PathBuf> = objects(&Path::new(&store).join("packs"))
        .into_iter()
        .filter(|p| fs::metadata(p).unwrap().len() < 100_000)
        .collect();
    assert!(!trees.is_empty());
    for t in &trees {
        fs::remove_file(t).unwrap();
    }
    let r = env.run(&["at", &store, "check"]).code(17);
    assert!(r.stderr.contains("tree"), "{}", r.stderr);
    env.run(&["at", &store, "ls"]).ok();
    // The parent's trees are gone: files are read again, trees saved again.
    env.backup(&store, src.to_str().unwrap());
    env.run(&["at", &store, "check", "--read-data"]).ok();
    restore_ok(&env, &store, &src, &id);
}

#[test]
fn lost_index_files_say_repair_index_which_brings_everything_back() {
    let env = Env::new();
    let (store, src, id) = setup(&env);
    for f in objects(&Path::new(&store).join("index")) {
        fs::remove_file(f).unwrap();
    }
    let out = env.path("out");
    let r = env.restore(&store, &out, &id).code(17);
    assert!(r.one_line_error().contains("repair index"), "{}", r.stderr);
    env.run(&["at", &store, "repair", "index"]).ok();
    env.run(&["at", &store, "check", "--read-data"]).ok();
    restore_ok(&env, &store, &src, &id);
}

#[test]
fn small_files_are_compressed_with_a_stored_dictionary_whose_loss_costs_only_them() {
    let env = Env::new();
    let (store, _, _) = setup(&env);
    // A source of 2,500 small text files: enough samples to train the dictionary.
    let src = env.path("small");
    for i in 0..2500u32 {
        let dir = src.join(format!("d{}", i % 25));
        fs::create_dir_all(&dir).unwrap();
        let text =
            format!("/* file {i} */\n#include <stdio.h>\nint f{i}(int x) {{ return x + {i}; }}\n");
        fs::write(
            dir.join(format!("f{i:04}.c")),
            text.repeat(4 + (i as usize % 7)),
        )
        .unwrap();
    }
    env.backup(&store, src.to_str().unwrap());
    let dicts = objects(&Path::new(&store).join("dicts"));
    assert_eq!(dicts.len(), 1, "{dicts:?}");
    // A later backup uses it, and a fresh process reads it back.
    for i in 0..50 {
        let text = format!("int late{i}(void) {{ return {i}; }}\n");
        fs::write(src.join(format!("d0/late{i}.c")), text.repeat(20)).unwrap();
    }
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(objects(&Path::new(&store).join("dicts")).len(), 1);
    env.run(&["at", &store, "check", "--read-data"]).ok();
    restore_ok(&env, &store, &src, &id);
    // A damaged dictionary is reported; the files that need it fail by name, the others
    // come back.
    edit(&dicts[0], |b| b[40] ^= 1);
    let r = env.run(&["at", &store, "check"]).code(17);
    assert!(r.stderr.contains("dictionary"), "{}", r.stderr);
    let out = env.path("out-damaged");
    let r = env.restore(&store, &out, &id).code(17);
    assert!(r.one_line_error().contains("late"), "{}", r.stderr);
    let restored = common::files_under(&out);
    assert!(restored.len() >= 2500, "{}", restored.len());
    for f in restored {
        let rel = f.strip_prefix(&out).unwrap();
        assert_eq!(fs::read(&f).unwrap(), fs::read(src.join(rel)).unwrap());
    }
}
