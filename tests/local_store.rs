//! The end-to-end suite against a store on the local filesystem, plus what only a local source
//! can show (unreadable files, the default store, the seed's command shapes).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::{suite, Env};

#[test]
fn round_trip() {
    let env = Env::new();
    suite::round_trip(&env, env.path("store").to_str().unwrap());
}

#[test]
fn incremental() {
    let env = Env::new();
    suite::incremental(&env, env.path("store").to_str().unwrap());
}

#[test]
fn errors() {
    let env = Env::new();
    let store = format!("fs://{}", env.path("store").display());
    suite::errors(&env, &store, env.path("never-created").to_str().unwrap());
}

#[test]
fn killed_backup() {
    let env = Env::new();
    let store = env.path("store");
    let packs = store.join("packs");
    suite::killed_backup(&env, store.to_str().unwrap(), &|| {
        suite::count_files(&packs)
    });
}

#[test]
fn default_store_is_home_dot_kloset() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"alpha").unwrap();
    env.run(&["create", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .ok();
    assert!(env.path("home/.kloset/config").is_file());
    env.run(&["backup", src.to_str().unwrap()]).ok();
    let out = env.path("out");
    env.run(&["restore", "-to", out.to_str().unwrap(), "latest"])
        .ok();
    assert_eq!(fs::read(out.join("a")).unwrap(), b"alpha");

    // KLOSET_REPOSITORY overrides the default.
    let other = env.path("other");
    let r = env
        .command(&["ls"])
        .env("KLOSET_REPOSITORY", &other)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(10));
}

/// An unreadable file is reported, the rest is saved, and the exit code says so. Root reads
/// everything, so as root the backup runs as `nobody` through setpriv.
#[test]
fn unreadable_source_file_is_reported_and_counted() {
    let env = Env::new();
    fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("readable"), b"fine").unwrap();
    fs::write(src.join("secret"), b"nope").unwrap();
    fs::set_permissions(src.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    let store = env.path("store");
    env.create(store.to_str().unwrap()).ok();
    chmod_recursive(env.dir.path());
    fs::set_permissions(src.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();

    let mut cmd = env.command(&[
        "--json",
        "at",
        store.to_str().unwrap(),
        "backup",
        src.to_str().unwrap(),
    ]);
    if common::is_root() {
        let inner = cmd;
        let mut wrapped = std::process::Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        cmd = wrapped;
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("secret"), "{stderr}");
    assert!(stderr.contains("1 unreadable"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["snapshot"]["summary"]["errors"], 1);
    assert_eq!(v["snapshot"]["summary"]["files"], 1);

    let restored = env.path("restored");
    env.run(&[
        "at",
        store.to_str().unwrap(),
        "restore",
        "-to",
        restored.to_str().unwrap(),
        "latest",
    ])
    .ok();
    assert_eq!(fs::read(restored.join("readable")).unwrap(), b"fine");
    assert!(!restored.join("secret").exists());
}

fn chmod_recursive(dir: &std::path::Path) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let meta = fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
            chmod_recursive(&p);
        } else if meta.is_file() {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
        }
    }
}

#[test]
fn corrupt_pack_is_detected_by_check_and_restore() {
    let env = Env::new();
    let store = env.path("store");
    let src = env.path("src");
    common::make_fixture(&src);
    env.create(store.to_str().unwrap()).ok();
    let id = env.backup(store.to_str().unwrap(), src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Flip one byte in the middle of every pack.
    let packs = common::files_under(&store.join("packs"));
    assert!(!packs.is_empty());
    for p in &packs {
        let mut bytes = fs::read(p).unwrap();
        let mid = bytes.len() / 3;
        bytes[mid] ^= 0x55;
        fs::set_permissions(p, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let r = env
        .run(&["at", store.to_str().unwrap(), "check", "--read-data"])
        .code(17);
    assert!(r.stderr.contains("problem:"), "{}", r.stderr);
    let out = env.path("out");
    let r = env.run(&[
        "at",
        store.to_str().unwrap(),
        "restore",
        "-to",
        out.to_str().unwrap(),
        &id,
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("integrity") || r.stderr.contains("authentication"),
        "{}",
        r.stderr
    );
}

#[test]
fn interrupt_with_ctrl_c_leaves_a_usable_store() {
    let env = Env::new();
    let store = env.path("store");
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..12 {
        fs::write(
            src.join(format!("part-{i}")),
            common::pseudo_random(i, 8 * 1024 * 1024),
        )
        .unwrap();
    }
    env.create(store.to_str().unwrap()).ok();
    let child = env.spawn(&[
        "at",
        store.to_str().unwrap(),
        "backup",
        src.to_str().unwrap(),
    ]);
    let packs = store.join("packs");
    common::wait_until(|| suite::count_files(&packs) >= 1);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let snaps = env
        .run(&["--json", "at", store.to_str().unwrap(), "ls"])
        .ok()
        .json();
    assert_eq!(snaps.as_array().unwrap().len(), 0);
    env.run(&["at", store.to_str().unwrap(), "check"]).ok();
    let v = env.backup(store.to_str().unwrap(), src.to_str().unwrap());
    let out_dir = env.path("out");
    env.run(&[
        "at",
        store.to_str().unwrap(),
        "restore",
        "-to",
        out_dir.to_str().unwrap(),
        v["id"].as_str().unwrap(),
    ])
    .ok();
    common::assert_same_tree(&src, &out_dir);
}

#[test]
fn ctrl_c_stops_a_restore_at_once_and_a_forced_rerun_completes_it() {
    let env = Env::new();
    let store = env.path("store");
    let store = store.to_str().unwrap();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..16 {
        fs::write(
            src.join(format!("part-{i}")),
            common::pseudo_random(40 + i, 8 * 1024 * 1024),
        )
        .unwrap();
    }
    env.create(store).ok();
    let id = env.backup(store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.path("out");
    let child = env.spawn(&["at", store, "restore", "-to", out.to_str().unwrap(), &id]);
    common::wait_until(|| suite::count_files(&out) >= 1);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    if done.status.code() != Some(0) {
        assert_eq!(done.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
    }
    env.restore_forced(store, &out, &id).ok();
    common::assert_same_tree(&src, &out);
}

#[test]
fn small_things_done_right() {
    let env = Env::new();
    let store = env.path("store");
    let s = store.to_str().unwrap();
    // A cost that would be silently raised is refused.
    let r = env
        .run(&["at", s, "create", "--kdf-memory-mib", "0"])
        .code(2);
    assert!(r.one_line_error().contains("--kdf-memory-mib"));
    // fs:// takes absolute paths only.
    let r = env.run(&["at", "fs://relative/store", "create"]).code(18);
    assert!(r.one_line_error().contains("fs:///absolute/path"));
    env.create(s).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.backup(s, src.to_str().unwrap());
    // A trailing `/` names the same source: nothing is read again.
    let again = env.backup(s, &format!("{}/", src.display()));
    assert_eq!(again["snapshot"]["summary"]["files_read"], 0);
    // Store objects are for this user alone.
    for f in common::files_under(&store) {
        let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{f:?} is {mode:o}");
    }
    let dir_mode = fs::metadata(store.join("packs"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode & 0o077, 0, "packs/ is {dir_mode:o}");
    // `kloset ls | head`: a closed pipe ends quietly.
    let mut child = env
        .command(&["at", s, "ls", "-R", "latest"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn exclude_patterns_leave_out_files_and_directories() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    for f in [
        "a.c",
        "a.o",
        "lib/b.o",
        "lib/keep.o",
        "web/node_modules/x.js",
        "web/app.js",
        "build/out",
        "src/build/kept",
        "Photo.JPG",
        "notes.tmp",
    ] {
        let p = src.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, f).unwrap();
    }
    let list = env.path("excludes.txt");
    fs::write(&list, "# comments and blank lines are skipped\n\n*.tmp\n").unwrap();
    let id = env
        .run(&[
            "--json",
            "at",
            &store,
            "backup",
            "--exclude",
            "*.o",
            "--exclude",
            "!keep.o",
            "--exclude",
            "node_modules/",
            "--exclude",
            "/build",
            "--iexclude",
            "*.jpg",
            "--exclude-file",
            list.to_str().unwrap(),
            src.to_str().unwrap(),
        ])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();
    let mut got: Vec<String> = common::files_under(&out)
        .iter()
        .map(|p| p.strip_prefix(&out).unwrap().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["a.c", "lib/keep.o", "src/build/kept", "web/app.js"]);
    let bad = env
        .run(&[
            "at",
            &store,
            "backup",
            "--exclude-file",
            "/nonexistent",
            src.to_str().unwrap(),
        ])
        .code(2);
    assert!(
        bad.one_line_error().contains("--exclude-file"),
        "{}",
        bad.stderr
    );
}

#[test]
fn cat_prints_one_file_byte_for_byte() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    let big = common::pseudo_random(3, 3_000_000);
    fs::write(src.join("d/big.bin"), &big).unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env
        .command(&["at", &store, "cat", &format!("{}:/d/big.bin", &id[..8])])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout == big, "cat differs from the file");
    let out = env
        .command(&["at", &store, "cat", &format!("{id}:/empty")])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    let r = env.run(&["at", &store, "cat", &format!("{id}:/d")]).code(2);
    assert!(r.one_line_error().contains("not a file"), "{}", r.stderr);
    env.run(&["at", &store, "cat", &format!("{id}:/nope")])
        .code(2);
}

#[test]
fn diff_reports_added_removed_modified_and_metadata_changes() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    for f in ["same", "gone", "edited", "chmodded", "sub/kept"] {
        let p = src.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, f).unwrap();
    }
    let a = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    fs::remove_file(src.join("gone")).unwrap();
    fs::write(src.join("edited"), "new content").unwrap();
    fs::set_permissions(src.join("chmodded"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::create_dir_all(src.join("new/deeper")).unwrap();
    fs::write(src.join("new/deeper/file"), "x").unwrap();
    let b = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = env
        .run(&["--json", "at", &store, "diff", &a[..8], &b[..8]])
        .ok()
        .json();
    let got: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_string(),
                c["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("/chmodded", "metadata"),
        ("/edited", "modified"),
        ("/gone", "removed"),
        ("/new/", "added"),
        ("/new/deeper/", "added"),
        ("/new/deeper/file", "added"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
    let text = env.run(&["at", &store, "diff", &a, &b]).ok().stdout;
    assert!(
        text.contains("M    /edited") && text.contains("-    /gone"),
        "{text}"
    );
    assert_eq!(
        env.run(&["--json", "at", &store, "diff", &b, &b])
            .ok()
            .stdout
            .trim(),
        "[]"
    );
}

#[test]
fn find_names_the_snapshots_and_paths_that_match() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    fs::create_dir_all(src.join("docs/old")).unwrap();
    fs::write(src.join("docs/a.pdf"), "a").unwrap();
    fs::write(src.join("docs/old/B.PDF"), "bb").unwrap();
    fs::write(src.join("notes.txt"), "n").unwrap();
    let first = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    fs::remove_file(src.join("docs/a.pdf")).unwrap();
    let second = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hits = |args: &[&str]| -> Vec<(String, String)> {
        let mut all = vec!["--json", "at", &store, "find"];
        all.extend_from_slice(args);
        env.run(&all)
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["snapshot"].as_str().unwrap()[..8].to_string(),
                    h["path"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        hits(&["*.pdf"]),
        vec![(first[..8].to_string(), "/docs/a.pdf".to_string())]
    );
    assert_eq!(
        hits(&["-i", "*.pdf", "--snapshot", &second[..8]]),
        vec![(second[..8].to_string(), "/docs/old/B.PDF".to_string())]
    );
    assert_eq!(
        hits(&["/docs/**/*.PDF"]).len(),
        2,
        "a path pattern, in both snapshots"
    );
    assert!(hits(&["*.doc"]).is_empty());
    env.run(&["at", &store, "find", "[unclosed"]).code(2);
}

/// `create --no-dictionary --padding`: no dictionary is ever trained, every pack is made of
/// padded blobs, and the store restores and checks like any other.
#[test]
fn a_store_without_dictionary_and_with_padding_round_trips() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..600 {
        let text = format!("[entry {i}]\nname = item-{i}\nvalue = {}\n", i * 7).repeat(20);
        fs::write(src.join(format!("f{i}.ini")), text).unwrap();
    }
    let src_s = src.to_str().unwrap();
    let mut sizes = Vec::new();
    for (name, extra) in [
        ("plain", &[][..]),
        ("private", &["--no-dictionary", "--padding"][..]),
    ] {
        let store = env.path(name);
        let store_s = store.to_str().unwrap();
        let mut args = vec![
            "at",
            store_s,
            "create",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ];
        args.extend_from_slice(extra);
        env.run(&args).ok();
        env.run(&["at", store_s, "backup", src_s]).ok();
        env.run(&["at", store_s, "backup", src_s]).ok();
        let dicts = suite::count_files(&store.join("dicts"));
        let config = fs::read_to_string(store.join("config")).unwrap();
        if extra.is_empty() {
            assert_eq!(dicts, 1, "600 small files train a dictionary");
            assert!(!config.contains("size_privacy"), "{config}");
        } else {
            assert_eq!(dicts, 0, "--no-dictionary never trains one");
            assert!(config.contains("\"padding\": \"padme\""), "{config}");
        }
        env.run(&["at", store_s, "check", "--read-data"]).ok();
        let out = env.path(&format!("out-{name}"));
        env.restore(store_s, &out, "latest").ok();
        common::assert_same_tree(&src, &out);
        sizes.push(
            common::files_under(&store.join("packs"))
                .iter()
                .map(|p| fs::metadata(p).unwrap().len())
                .sum::<u64>(),
        );
    }
    assert!(
        sizes[1] > sizes[0],
        "padding and no dictionary cost space: {sizes:?}"
    );
}

/// `kloset at backups create` from the directory that is to hold it: a relative store path
/// whose only parent is the working directory.
#[test]
fn a_store_named_relative_to_the_working_directory_is_created_and_used() {
    let env = Env::new();
    fs::create_dir_all(env.path("work")).unwrap();
    fs::write(env.path("work/file"), b"content").unwrap();
    let run = |args: &[&str]| {
        let out = env
            .command(args)
            .current_dir(env.path("work"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "at",
        "backups",
        "create",
        "--kdf-memory-mib",
        "8",
        "--kdf-iterations",
        "1",
    ]);
    run(&["at", "backups", "backup", "file"]);
    run(&["at", "backups", "check", "--read-data"]);
    assert!(env.path("work/backups/config").exists());
}
