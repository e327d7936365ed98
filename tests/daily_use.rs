//! Daily use on a local store: several paths in one snapshot, what a backup leaves out,
//! dry runs, `latest` with several sources, restore --include/--exclude, dump, and restore
//! fidelity (hard links, sparse files, extended attributes and ACLs, FIFOs, device nodes,
//! ownership).

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use common::Env;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
    }
}

/// Files below `dir` as sorted relative paths.
fn listed(dir: &Path) -> Vec<String> {
    let mut got: Vec<String> = common::files_under(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    got.sort();
    got
}

fn snapshot_id(run: common::Run) -> String {
    run.ok().json()["id"].as_str().unwrap().to_string()
}

fn store_objects(store: &str) -> usize {
    common::files_under(Path::new(store)).len()
}

#[test]
fn several_paths_tagged_directories_and_dry_run() {
    let env = Env::new();
    let store = env.local_store();
    let (src, docs) = (env.path("data/src"), env.path("data/docs"));
    write(
        &src,
        &[
            ("main.c", "int main;"),
            (
                "target/CACHEDIR.TAG",
                "Signature: 8a477f597d28d172789f06886806bc55\n",
            ),
            ("target/big.o", "object code"),
            ("fake/CACHEDIR.TAG", "no signature here"),
            ("fake/kept", "kept"),
            ("private/.nobackup", ""),
            ("private/secret", "s"),
        ],
    );
    write(&docs, &[("a.txt", "a"), ("sub/b.txt", "b")]);
    fs::write(env.path("data/elsewhere"), "not named").unwrap();
    let (src_s, docs_s) = (src.to_str().unwrap(), docs.to_str().unwrap());
    let excluding = ["--exclude-caches", "--exclude-if-present", ".nobackup"];

    // A dry run reads the source and counts, and writes nothing.
    let before = store_objects(&store);
    let mut args = vec!["--json", "at", &store, "backup", "--dry-run"];
    args.extend(excluding);
    args.extend([src_s, docs_s]);
    let dry = env.run(&args).ok().json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["summary"]["files"], 5, "{dry}");
    assert!(dry["summary"]["new_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        store_objects(&store),
        before,
        "a dry run wrote to the store"
    );
    assert_eq!(
        env.run(&["--json", "at", &store, "ls"]).ok().json(),
        serde_json::json!([])
    );

    let mut args = vec!["--json", "at", &store, "backup"];
    args.extend(excluding);
    args.extend([docs_s, src_s]);
    let id = snapshot_id(env.run(&args));
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();
    // Several paths: the snapshot's tree starts at `/` and holds the way to each.
    let rel = |p: &Path| p.strip_prefix("/").unwrap().to_string_lossy().into_owned();
    let expect: Vec<String> = [
        "docs/a.txt",
        "docs/sub/b.txt",
        "src/fake/CACHEDIR.TAG",
        "src/fake/kept",
        "src/main.c",
    ]
    .iter()
    .map(|f| format!("{}/{f}", rel(&env.path("data"))))
    .collect();
    assert_eq!(listed(&out), expect);
    // Tagged directories are kept, empty.
    let data_out = out.join(rel(&env.path("data")));
    assert!(data_out.join("src/target").is_dir() && data_out.join("src/private").is_dir());
    assert!(!data_out.join("elsewhere").exists());

    // The snapshot names its paths; either selects it.
    let snaps = env
        .run(&["--json", "at", &store, "ls", "--source", src_s])
        .ok()
        .json();
    assert_eq!(snaps.as_array().unwrap().len(), 1, "{snaps}");
    assert_eq!(snaps[0]["paths"], serde_json::json!([docs_s, src_s]));

    // An unchanged re-backup of the same paths finds its parent and reads nothing.
    let mut args = vec!["--json", "at", &store, "backup"];
    args.extend(excluding);
    args.extend([src_s, docs_s]);
    let again = env.run(&args).ok().json();
    assert_eq!(again["snapshot"]["summary"]["files_read"], 0, "{again}");

    let bad = env
        .run(&["at", &store, "backup", "--exclude-if-present", "a/b", src_s])
        .code(2);
    assert!(
        bad.one_line_error().contains("--exclude-if-present"),
        "{}",
        bad.stderr
    );
    let bad = env
        .run(&["at", &store, "backup", "--exclude", "{a,b", src_s])
        .code(2);
    assert!(bad.one_line_error().contains("{a,b"), "{}", bad.stderr);
    env.run(&["at", &store, "backup", src_s, "/does/not/exist"])
        .code(2);
}

#[test]
fn latest_never_means_another_sources_newest() {
    let env = Env::new();
    let store = env.local_store();
    let (a, b) = (env.path("a"), env.path("b"));
    write(&a, &[("from-a", "a")]);
    write(&b, &[("from-b", "b")]);
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    env.backup(&store, a_s);
    // With one source, latest is simply the newest.
    env.run(&["at", &store, "ls", "latest"]).ok();
    env.run(&["--json", "at", &store, "backup", "--tag", "web", b_s])
        .ok();

    let listing = env.run(&["at", &store, "ls"]).ok().stdout;
    assert!(
        listing.contains(&format!("{b_s} [web]")),
        "ls shows tags: {listing}"
    );
    let r = env.run(&["at", &store, "ls", "latest"]).code(15);
    let line = r.one_line_error();
    assert!(
        line.contains("--source") && line.contains(a_s) && line.contains(b_s),
        "{line}"
    );
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        env.path("x").to_str().unwrap(),
        "latest",
    ])
    .code(15);
    assert!(
        !env.path("x").exists(),
        "an ambiguous restore wrote something"
    );

    // Filters choose; restoring onto a source's own path chooses that source.
    let out = env.path("out-a");
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        out.to_str().unwrap(),
        "latest",
        "--source",
        a_s,
    ])
    .ok();
    assert_eq!(listed(&out), ["from-a"]);
    let out = env.path("out-b");
    env.run(&[
        "at",
        &store,
        "restore",
        "-to",
        out.to_str().unwrap(),
        "latest",
        "--tag",
        "web",
    ])
    .ok();
    assert_eq!(listed(&out), ["from-b"]);
    fs::remove_file(a.join("from-a")).unwrap();
    env.run(&["at", &store, "restore", "--force", "-to", a_s, "latest"])
        .ok();
    assert_eq!(listed(&a), ["from-a"]);

    let out = env
        .command(&["at", &store, "cat", "latest:/from-b", "--tag", "web"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"b");
    env.run(&["at", &store, "cat", "latest:/from-b"]).code(15);
    let r = env
        .run(&["at", &store, "ls", "latest", "--host", "nowhere"])
        .code(14);
    assert!(r.one_line_error().contains("host nowhere"), "{}", r.stderr);
    env.run(&["at", &store, "diff", "deadbeef", "latest"])
        .code(14);
}

#[test]
fn restore_include_and_exclude() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    write(
        &src,
        &[
            ("etc/app.conf", "1"),
            ("etc/cache/x.conf", "2"),
            ("etc/notes.txt", "3"),
            ("srv/db.CONF", "4"),
            ("srv/data/blob", "5"),
            ("top.conf", "6"),
        ],
    );
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = |name: &str, extra: &[&str]| {
        let out = env.path(name);
        let mut args = vec!["at", &store, "restore", "-to", out.to_str().unwrap(), &id];
        args.extend(extra);
        env.run(&args).ok();
        out
    };
    let out = restore("inc", &["--include", "*.conf", "--exclude", "cache/"]);
    assert_eq!(listed(&out), ["etc/app.conf", "top.conf"]);
    assert!(
        !out.join("srv").exists(),
        "a directory with nothing included was made"
    );
    let out = restore("iinc", &["--iinclude", "*.conf", "--include", "/srv/data"]);
    assert_eq!(
        listed(&out),
        [
            "etc/app.conf",
            "etc/cache/x.conf",
            "srv/data/blob",
            "srv/db.CONF",
            "top.conf"
        ]
    );
    let out = restore("exc", &["--exclude", "/etc", "--iexclude", "BLOB"]);
    assert_eq!(listed(&out), ["srv/db.CONF", "top.conf"]);
    assert_eq!(fs::read(out.join("srv/db.CONF")).unwrap(), b"4");
    let bad = env.path("bad");
    let r = env
        .run(&[
            "at",
            &store,
            "restore",
            "-to",
            bad.to_str().unwrap(),
            &id,
            "--include",
            "{x",
        ])
        .code(2);
    assert!(r.one_line_error().contains("{x"), "{}", r.stderr);
    assert!(!bad.exists(), "a refused restore made its target");
}

#[test]
fn dump_writes_tar_and_zip_archives() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    let big = common::pseudo_random(9, 2_500_000);
    write(
        &src,
        &[("etc/fstab", "/dev/sda1 / ext4\n"), ("etc/empty", "")],
    );
    fs::write(src.join("etc/big.bin"), &big).unwrap();
    fs::hard_link(src.join("etc/fstab"), src.join("etc/fstab.link")).unwrap();
    std::os::unix::fs::symlink("fstab", src.join("etc/link")).unwrap();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dump = |args: &[&str]| {
        let mut all = vec!["at", &store, "dump"];
        all.extend(args);
        let out = env.command(&all).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };

    let tar_bytes = dump(&[&format!("{id}:/etc")]);
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let kind = e.header().entry_type();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut content).unwrap();
        match path.as_str() {
            "etc/big.bin" => assert!(content == big, "big.bin differs"),
            "etc/fstab" => assert_eq!(content, b"/dev/sda1 / ext4\n"),
            "etc/fstab.link" => {
                assert!(kind.is_hard_link());
                assert_eq!(e.link_name().unwrap().unwrap().to_str(), Some("etc/fstab"));
            }
            "etc/link" => assert_eq!(e.link_name().unwrap().unwrap().to_str(), Some("fstab")),
            _ => {}
        }
        seen.push(path);
    }
    assert_eq!(
        seen,
        [
            "etc/",
            "etc/big.bin",
            "etc/empty",
            "etc/fstab",
            "etc/fstab.link",
            "etc/link"
        ]
    );

    let zip_bytes = dump(&[&id, "--format", "zip"]);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut read = |name: &str| {
        let mut f = zip.by_name(name).unwrap();
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut v).unwrap();
        v
    };
    assert!(read("etc/big.bin") == big, "big.bin differs in the zip");
    assert_eq!(read("etc/fstab.link"), b"/dev/sda1 / ext4\n");
    assert!(read("etc/empty").is_empty());

    // A file dumps as its content; a path that is not there is one line and exit 2.
    assert_eq!(dump(&[&format!("{id}:/etc/fstab")]), b"/dev/sda1 / ext4\n");
    let r = env
        .run(&["at", &store, "dump", &format!("{id}:/nope")])
        .code(2);
    r.one_line_error();
    env.run(&["at", &store, "dump", &id, "--format", "rar"])
        .code(2);
}

/// An ACL granting `nobody` read access, in the kernel's xattr form.
fn acl_blob() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 65534),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 4, u32::MAX),
    ] {
        v.extend(tag.to_le_bytes());
        v.extend(perm.to_le_bytes());
        v.extend(id.to_le_bytes());
    }
    v
}

#[test]
fn restore_keeps_links_holes_attributes_and_special_files() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    write(&src, &[("a", "linked content"), ("dir/plain", "p")]);
    fs::hard_link(src.join("a"), src.join("dir/b")).unwrap();
    // 64 MiB with one byte of data in the middle.
    let sparse = fs::File::create(src.join("sparse")).unwrap();
    sparse.set_len(64 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&sparse, b"x", 32 << 20).unwrap();
    drop(sparse);
    xattr::set(src.join("a"), "user.color", b"blue").unwrap();
    xattr::set(src.join("dir"), "user.kind", b"folder").unwrap();
    let acl = xattr::set(
        src.join("dir/plain"),
        "system.posix_acl_access",
        &acl_blob(),
    )
    .is_ok();
    let fifo = std::ffi::CString::new(src.join("pipe").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    let root = common::is_root();
    if root {
        let dev = std::ffi::CString::new(src.join("null").to_str().unwrap()).unwrap();
        let rdev = libc::makedev(1, 3);
        assert_eq!(
            unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o666, rdev) },
            0
        );
        std::os::unix::fs::lchown(src.join("dir/plain"), Some(1234), Some(5678)).unwrap();
    }
    env.backup(&store, src.to_str().unwrap());
    // The snapshot restored is an unchanged re-backup: what it reuses keeps its attributes.
    let again = env.backup(&store, src.to_str().unwrap());
    assert_eq!(again["snapshot"]["summary"]["files_read"], 0, "{again}");
    let id = again["id"].as_str().unwrap().to_string();
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();

    let (a, b) = (
        fs::metadata(out.join("a")).unwrap(),
        fs::metadata(out.join("dir/b")).unwrap(),
    );
    assert_eq!(
        (a.ino(), a.nlink()),
        (b.ino(), 2),
        "hard links came back as copies"
    );
    let s = fs::metadata(out.join("sparse")).unwrap();
    assert_eq!(s.len(), 64 << 20);
    assert!(
        s.blocks() * 512 <= 64 * 1024,
        "sparse file holds {} blocks",
        s.blocks()
    );
    let data = fs::read(out.join("sparse")).unwrap();
    assert!(data[32 << 20] == b'x' && data.iter().filter(|c| **c != 0).count() == 1);
    assert_eq!(
        xattr::get(out.join("a"), "user.color").unwrap().unwrap(),
        b"blue"
    );
    assert_eq!(
        xattr::get(out.join("dir"), "user.kind").unwrap().unwrap(),
        b"folder"
    );
    if acl {
        let got = xattr::get(out.join("dir/plain"), "system.posix_acl_access").unwrap();
        assert_eq!(got.unwrap(), acl_blob(), "ACL differs");
    } else {
        eprintln!("note: this filesystem takes no POSIX ACLs; ACL round trip not checked");
    }
    assert!(fs::symlink_metadata(out.join("pipe"))
        .unwrap()
        .file_type()
        .is_fifo());
    if root {
        let null = fs::symlink_metadata(out.join("null")).unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!(null.rdev(), libc::makedev(1, 3));
        let plain = fs::metadata(out.join("dir/plain")).unwrap();
        assert_eq!((plain.uid(), plain.gid()), (1234, 5678));
    } else {
        eprintln!("note: not root; device nodes and ownership not checked");
    }
    // The same snapshot into a tar keeps the FIFO too.
    let out = env.command(&["at", &store, "dump", &id]).output().unwrap();
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let fifo_in_tar = archive
        .entries()
        .unwrap()
        .any(|e| e.unwrap().header().entry_type() == tar::EntryType::Fifo);
    assert!(fifo_in_tar);
}

/// Needs root and a tmpfs mount; skipped (said) otherwise.
#[test]
fn one_file_system_keeps_mount_points_empty() {
    let env = Env::new();
    let src = env.path("src");
    write(&src, &[("here", "h")]);
    let mnt: PathBuf = src.join("mnt");
    fs::create_dir_all(&mnt).unwrap();
    let mounted = common::is_root()
        && std::process::Command::new("mount")
            .args(["-t", "tmpfs", "none", mnt.to_str().unwrap()])
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here; --one-file-system not checked");
        return;
    }
    fs::write(mnt.join("other-fs"), "o").unwrap();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let crossed = snapshot_id(env.run(&["--json", "at", &store, "backup", src.to_str().unwrap()]));
    let stayed = snapshot_id(env.run(&[
        "--json",
        "at",
        &store,
        "backup",
        "-x",
        src.to_str().unwrap(),
    ]));
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let ls = |id: &str| env.run(&["at", &store, "ls", "-R", id]).ok().stdout;
    assert!(ls(&crossed).contains("/mnt/other-fs"));
    let kept = ls(&stayed);
    assert!(
        kept.contains("/mnt/") && !kept.contains("other-fs"),
        "{kept}"
    );
}
