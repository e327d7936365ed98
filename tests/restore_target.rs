//! A restore target that someone else can change while the restore runs: nothing is ever
//! written, chmod'ed or touched outside it. And what a file's privilege rests on (setuid bits,
//! file capabilities) comes back, unless `--no-special` leaves it out.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Env;

/// Everything about `root` and below that a write through a symlink could change: each
/// entry's kind, mode, mtime, size and content.
fn state_of(root: &Path) -> BTreeMap<PathBuf, (u32, i64, i64, u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = fs::symlink_metadata(&p).unwrap();
        let content = if m.is_file() {
            fs::read(&p).unwrap()
        } else {
            Vec::new()
        };
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        out.insert(rel, (m.mode(), m.mtime(), m.mtime_nsec(), m.len(), content));
        if m.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out
}

/// Top directories, each with subdirectories of small files: many directories to swap, and
/// enough files that a restore takes a while.
fn nested_fixture(src: &Path, top: usize, sub: usize, files: usize) -> Vec<String> {
    let mut dirs = Vec::new();
    for t in 0..top {
        for s in 0..sub {
            let dir = format!("d{t}/s{s}");
            fs::create_dir_all(src.join(&dir)).unwrap();
            for f in 0..files {
                fs::write(src.join(format!("{dir}/f{f}")), format!("{dir}/f{f}")).unwrap();
            }
            dirs.push(dir);
        }
        fs::write(src.join(format!("d{t}/top")), b"top").unwrap();
        dirs.push(format!("d{t}"));
    }
    dirs
}

/// Until `stop`: renames a directory of the target away, puts a symlink to `outside` in its
/// place, then puts the directory back; over and over, on directories picked in turn.
fn swap_dirs_for_links(
    target: PathBuf,
    outside: PathBuf,
    dirs: Vec<String>,
    stop: Arc<AtomicBool>,
) -> u64 {
    let mut swaps = 0;
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i = (i * 7 + 3) % dirs.len();
        let dir = target.join(&dirs[i]);
        let away = target.join(format!(".away-{i}"));
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            std::thread::yield_now();
            continue;
        }
        if fs::rename(&dir, &away).is_err() {
            continue;
        }
        if std::os::unix::fs::symlink(&outside, &dir).is_ok() {
            swaps += 1;
            std::thread::sleep(Duration::from_micros(500));
            let _ = fs::remove_file(&dir);
        }
        let _ = fs::rename(&away, &dir);
    }
    swaps
}

#[test]
fn a_directory_swapped_for_a_symlink_during_a_restore_lets_nothing_out_of_the_target() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    let dirs = nested_fixture(&src, 8, 5, 120);
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let outside = env.path("outside");
    // Names the snapshot also has, so a write through the link would land on them.
    fs::create_dir_all(outside.join("s0")).unwrap();
    fs::write(outside.join("top"), b"outside").unwrap();
    fs::write(outside.join("s0/f0"), b"outside").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o751)).unwrap();
    let before = state_of(&outside);
    for round in 0..3 {
        let target = env.path(&format!("target-{round}"));
        let started = Instant::now();
        let child = env.spawn(&[
            "at",
            &store,
            "restore",
            "-to",
            target.to_str().unwrap(),
            &id,
        ]);
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (target, outside, dirs, stop) =
                (target.clone(), outside.clone(), dirs.clone(), stop.clone());
            std::thread::spawn(move || swap_dirs_for_links(target, outside, dirs, stop))
        };
        let out = child.wait_with_output().unwrap();
        stop.store(true, Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "round {round}: restore took {:?}, {swaps} swaps, exit {code:?}",
            started.elapsed()
        );
        assert!(
            matches!(code, Some(0) | Some(4)),
            "a refused entry is a partial restore, nothing worse: {stderr}"
        );
        let after = state_of(&outside);
        let changed: Vec<&PathBuf> = after
            .keys()
            .chain(before.keys())
            .filter(|k| after.get(*k) != before.get(*k))
            .collect();
        assert!(
            changed.is_empty(),
            "round {round}: the restore changed, through a symlink in the target, what it points to: {changed:?}"
        );
        // What did come back is the snapshot's, and nothing unfinished is left.
        for f in common::files_under(&target) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.starts_with(".kloset-"), "left behind: {f:?}");
            let rel = f.strip_prefix(&target).unwrap();
            let rel = rel.to_string_lossy();
            if !rel.starts_with(".away") {
                assert_eq!(fs::read(&f).unwrap(), fs::read(src.join(&*rel)).unwrap());
            }
        }
    }
}

fn write_prog(path: &Path, mode: u32) {
    fs::write(path, b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn has_setcap() -> bool {
    std::process::Command::new("setcap")
        .arg("-h")
        .output()
        .is_ok()
}

#[test]
fn setuid_bits_file_capabilities_and_attributes_of_read_only_files_survive_a_restore() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let root = common::is_root();
    let prog = src.join("prog");
    write_prog(&prog, 0o755);
    if root {
        // Changing a file's owner clears its setuid bit and capabilities: a restore that
        // chowns after putting them back loses them.
        std::os::unix::fs::chown(&prog, Some(1234), Some(5678)).unwrap();
    }
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o4755)).unwrap();
    let caps = root && has_setcap();
    if caps {
        let ok = std::process::Command::new("setcap")
            .args(["cap_net_raw+ep", prog.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success());
    } else {
        eprintln!("note: not root or no setcap; file capabilities not checked");
    }
    // `user.` attributes need write permission: set after a read-only mode, they are lost.
    let frozen = src.join("frozen");
    fs::write(&frozen, b"frozen").unwrap();
    xattr::set(&frozen, "user.note", b"kept").unwrap();
    fs::set_permissions(&frozen, fs::Permissions::from_mode(0o444)).unwrap();
    let cap_before = xattr::get(&prog, "security.capability").unwrap();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();

    let m = fs::metadata(out.join("prog")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o4755, "setuid bit lost");
    if root {
        assert_eq!((m.uid(), m.gid()), (1234, 5678));
    }
    if caps {
        assert_eq!(
            xattr::get(out.join("prog"), "security.capability").unwrap(),
            cap_before,
            "file capability lost"
        );
    }
    assert_eq!(
        xattr::get(out.join("frozen"), "user.note")
            .unwrap()
            .as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(
        fs::metadata(out.join("frozen")).unwrap().mode() & 0o777,
        0o444
    );
}

#[test]
fn no_special_skips_devices_and_fifos_and_clears_setuid_and_capabilities() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir")).unwrap();
    let fifo = std::ffi::CString::new(src.join("pipe").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    let root = common::is_root();
    if root {
        let dev = std::ffi::CString::new(src.join("dir/null").to_str().unwrap()).unwrap();
        let rc = unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        assert_eq!(rc, 0);
    }
    write_prog(&src.join("prog"), 0o6755);
    let caps = root && has_setcap();
    if caps {
        let capped = src.join("capped");
        write_prog(&capped, 0o755);
        let ok = std::process::Command::new("setcap")
            .args(["cap_net_raw+ep", capped.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    fs::set_permissions(src.join("dir"), fs::Permissions::from_mode(0o2755)).unwrap();
    let r = env.run(&[
        "--json",
        "at",
        &store,
        "backup",
        "--host",
        "elsewhere",
        src.to_str().unwrap(),
    ]);
    let id = r.ok().json()["id"].as_str().unwrap().to_string();

    let plain = env.path("plain");
    let r = env.run(&[
        "at",
        &store,
        "restore",
        "--no-special",
        "-to",
        plain.to_str().unwrap(),
        &id,
    ]);
    let r = r.ok();
    assert!(r.stderr.contains("--no-special: "), "{}", r.stderr);
    assert!(
        fs::symlink_metadata(plain.join("pipe")).is_err(),
        "FIFO restored"
    );
    assert!(
        fs::symlink_metadata(plain.join("dir/null")).is_err(),
        "device restored"
    );
    let mode = fs::metadata(plain.join("prog")).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o755, "setuid/setgid bits kept");
    let dir = fs::metadata(plain.join("dir")).unwrap().mode() & 0o7777;
    assert_eq!(
        dir, 0o2755,
        "a directory's setgid bit only passes its group on"
    );
    if caps {
        assert_eq!(
            xattr::get(plain.join("capped"), "security.capability").unwrap(),
            None,
            "file capability kept"
        );
        assert!(plain.join("capped").is_file());
    }

    // Without it, a snapshot from another host holding them is worth a word.
    let full = env.path("full");
    let r = env.restore(&store, &full, &id).ok();
    assert!(
        r.stderr.contains("host 'elsewhere'") && r.stderr.contains("--no-special"),
        "{}",
        r.stderr
    );
    assert_eq!(
        fs::metadata(full.join("prog")).unwrap().mode() & 0o7777,
        0o6755
    );
    assert!(fs::symlink_metadata(full.join("pipe")).is_ok());
}

/// `restore --force` over names that hold a symlink to a file outside, a FIFO, and a longer
/// file: each becomes the snapshot's file, nothing outside changes, nothing unfinished is left.
/// Both ways whole files are written: unnamed files linked to their names, and the named
/// temporary files of filesystems without O_TMPFILE.
#[test]
fn a_forced_restore_replaces_planted_links_fifos_and_longer_files_without_following_them() {
    let mut env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    fs::create_dir_all(src.join("c")).unwrap();
    fs::write(src.join("a"), b"snapshot a").unwrap();
    fs::write(src.join("b"), b"snapshot b").unwrap();
    fs::write(src.join("c/d"), b"short").unwrap();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let outside = env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), b"outside").unwrap();
    let before = state_of(&outside);
    for way in ["unnamed", "named"] {
        if way == "named" {
            env.extra_env
                .push(("KLOSET_TEST_NAMED_TEMP".into(), "1".into()));
        }
        let target = env.path(&format!("target-{way}"));
        fs::create_dir_all(target.join("c")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), target.join("a")).unwrap();
        let fifo = std::ffi::CString::new(target.join("b").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        fs::write(target.join("c/d"), b"a longer file than the snapshot's").unwrap();
        env.restore_forced(&store, &target, &id).ok();
        assert_eq!(
            state_of(&outside),
            before,
            "{way}: written through the link"
        );
        for name in ["a", "b", "c/d"] {
            let m = fs::symlink_metadata(target.join(name)).unwrap();
            assert!(m.is_file(), "{way}: {name} is not a regular file");
            assert_eq!(
                fs::read(target.join(name)).unwrap(),
                fs::read(src.join(name)).unwrap(),
                "{way}: {name}"
            );
        }
        for f in common::files_under(&target) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.starts_with(".kloset-"), "{way}: left behind: {f:?}");
        }
    }
}
