//! `kloset at STORE mount DIR` through the kernel's FUSE: what a mounted snapshot shows is
//! compared with its source (bytes, modes, times, link targets, hard links, xattrs, an S3
//! object's metadata), writes are refused, and a backup made while mounted appears.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::servers::moto;
use common::{assert_same_tree, make_fixture, Env};

/// A `kloset mount` running in the background; unmounted with Ctrl-C (SIGINT) when dropped.
struct Mounted {
    child: Option<Child>,
    dir: PathBuf,
}

impl Mounted {
    fn start(env: &Env, store: &str, dir: &Path, extra: &[&str]) -> Mounted {
        assert!(
            Path::new("/dev/fuse").exists(),
            "the mount tests need /dev/fuse (and fuse3's fusermount3 when not root)"
        );
        fs::create_dir_all(dir).unwrap();
        let d = dir.to_str().unwrap();
        let mut args = vec!["at", store, "mount", d, "--refresh", "1"];
        args.extend_from_slice(extra);
        let child = env.spawn(&args);
        let mut mounted = Mounted {
            child: Some(child),
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.join("ids").is_dir() {
            if let Some(status) = mounted.child.as_mut().unwrap().try_wait().unwrap() {
                let out = mounted.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "mount ended ({status}): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(Instant::now() < deadline, "not mounted after 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        mounted
    }

    /// Ctrl-C: kloset unmounts and ends with status 0.
    fn stop(&mut self) {
        let Some(child) = self.child.take() else {
            return;
        };
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mount did not end cleanly: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!self.dir.join("ids").exists(), "still mounted after Ctrl-C");
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            let _ = child.wait();
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.dir)
                .status();
        }
    }
}

fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not after 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_mounted_snapshot_is_its_source_and_new_snapshots_appear() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    make_fixture(&src);
    fs::hard_link(src.join("big.bin"), src.join("docs/big-again.bin")).unwrap();
    xattr::set(src.join("docs/readme.txt"), "user.color", b"blue").unwrap();
    xattr::set(src.join("docs"), "user.kind", b"folder\0binary").unwrap();
    let first = env.backup(&store, src.to_str().unwrap());
    let first_id = first["id"].as_str().unwrap()[..8].to_string();

    let mnt = env.path("mnt");
    let mut mounted = Mounted::start(&env, &store, &mnt, &[]);
    let latest = mnt.join("snapshots/latest");
    // Bytes, kinds, permission bits, mtimes to the nanosecond, sizes and link targets.
    assert_same_tree(&src, &latest);
    assert_same_tree(&src, &mnt.join("ids").join(&first_id));
    let host = fs::read_dir(mnt.join("hosts")).unwrap().count();
    assert_eq!(host, 1, "one host folder");

    // Hard links: one inode, its link count as stored.
    let a = fs::metadata(latest.join("big.bin")).unwrap();
    let b = fs::metadata(latest.join("docs/big-again.bin")).unwrap();
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    assert_eq!(fs::metadata(latest.join("zero")).unwrap().nlink(), 1);
    // Extended attributes as stored, binary ones included.
    assert_eq!(
        xattr::get(latest.join("docs/readme.txt"), "user.color").unwrap(),
        Some(b"blue".to_vec())
    );
    assert_eq!(
        xattr::get(latest.join("docs"), "user.kind").unwrap(),
        Some(b"folder\0binary".to_vec())
    );
    let names: Vec<_> = xattr::list(latest.join("docs/readme.txt"))
        .unwrap()
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("user.color")]);
    // A part read from the middle of a large file.
    let f = fs::File::open(latest.join("big.bin")).unwrap();
    let mut part = vec![0u8; 100_000];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut part, 9 * 1024 * 1024 + 7).unwrap();
    let whole = fs::read(src.join("big.bin")).unwrap();
    assert_eq!(
        part,
        whole[9 * 1024 * 1024 + 7..9 * 1024 * 1024 + 7 + 100_000]
    );

    // Read-only, whatever is tried.
    for refused in [
        fs::write(latest.join("new-file"), b"x").err(),
        fs::OpenOptions::new()
            .append(true)
            .open(latest.join("docs/readme.txt"))
            .err(),
        fs::remove_file(latest.join("zero")).err(),
        fs::create_dir(latest.join("new-dir")).err(),
        fs::rename(latest.join("zero"), latest.join("zero2")).err(),
    ] {
        let e = refused.expect("a write to a mounted snapshot was accepted");
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{e}");
    }

    // A backup made while mounted appears, without remounting.
    fs::write(src.join("added-later.txt"), b"new\n").unwrap();
    let second = env.backup(&store, src.to_str().unwrap());
    let second_id = second["id"].as_str().unwrap()[..8].to_string();
    wait_for("the new snapshot", || {
        mnt.join("ids").join(&second_id).is_dir()
    });
    wait_for("latest pointing at it", || {
        latest.join("added-later.txt").exists()
    });
    assert_eq!(fs::read(latest.join("added-later.txt")).unwrap(), b"new\n");
    assert!(!mnt
        .join("ids")
        .join(&first_id)
        .join("added-later.txt")
        .exists());
    mounted.stop();
}

#[test]
fn an_s3_objects_metadata_and_tags_are_xattrs() {
    let env = Env::new();
    let server = moto();
    let bucket = common::unique("mnt");
    server.tool(&["fill", &bucket, "--tags"]);
    let source = common::add_s3(&env, "source", "bucket", server, &bucket, "");
    let store = env.local_store();
    env.backup(&store, &source);
    let objects: serde_json::Value =
        serde_json::from_str(&server.tool(&["dump", &bucket, ""])).unwrap();

    let mnt = env.path("mnt");
    let mut mounted = Mounted::start(&env, &store, &mnt, &[]);
    let root = mnt.join("snapshots/latest");
    let attr = |key: &str, name: &str| -> Option<String> {
        xattr::get(root.join(key), name)
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    };
    for key in [
        "meta/everything.json",
        "2024/01/photo.jpg",
        "2024/02/notes.md",
        "big/object.bin",
        "no-content-type",
        "unicode/日本語/ファイル.txt",
    ] {
        let want = &objects[key];
        let body = fs::read(root.join(key)).unwrap();
        assert_eq!(want["size"], body.len(), "{key}");
        assert_eq!(want["md5"], format!("{:x}", md5_of(&body)), "{key}");
        assert_eq!(attr(key, "user.s3.key").as_deref(), Some(key));
        assert_eq!(
            attr(key, "user.s3.content-type").as_deref(),
            want["ContentType"].as_str(),
            "{key}"
        );
        let meta = want["Metadata"].as_object().cloned().unwrap_or_default();
        for (k, v) in &meta {
            assert_eq!(
                attr(key, &format!("user.s3.meta.{k}")).as_deref(),
                v.as_str(),
                "{key}: {k}"
            );
        }
        let tags = want["Tags"].as_object().cloned().unwrap_or_default();
        for (k, v) in &tags {
            assert_eq!(
                attr(key, &format!("user.s3.tag.{k}")).as_deref(),
                v.as_str(),
                "{key}: tag {k}"
            );
        }
        assert!(attr(key, "user.s3.etag").is_some(), "{key}");
    }
    let meta = &objects["meta/everything.json"];
    assert_eq!(
        attr("meta/everything.json", "user.s3.cache-control").as_deref(),
        meta["CacheControl"].as_str()
    );
    assert_eq!(
        attr("meta/everything.json", "user.s3.content-disposition").as_deref(),
        meta["ContentDisposition"].as_str()
    );
    // A key that is also a folder (`a` and `a/b`): the folder keeps the name.
    assert!(root.join("a").is_dir());
    assert_eq!(
        fs::read(root.join("a/b")).unwrap(),
        b"a file inside a folder named a\n"
    );
    assert_eq!(
        fs::read(root.join("a~object")).unwrap(),
        b"a file named a\n"
    );
    mounted.stop();
}

/// MD5, to compare with what S3 reports (tests/tools/s3tool.py `dump`).
fn md5_of(data: &[u8]) -> u128 {
    let out = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(data)?;
            child.wait_with_output()
        })
        .unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    u128::from_str_radix(&hex[..32], 16).unwrap()
}
