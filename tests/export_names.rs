//! Names that would escape or overwrite, on the way out of a snapshot: `dump` archives hold no
//! entry named `..` (an S3 key `x/../y` makes one), and a restore to S3 never writes two files
//! whose names differ only in bytes that are not UTF-8 over one another.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt;

use common::servers::{garage, moto};
use common::{unique, Env};

#[test]
fn dumps_leave_out_names_that_would_escape() {
    let server = moto();
    let env = Env::new();
    let bucket = unique("escape");
    server.tool(&["put", &bucket, "x/../y", "outside"]);
    server.tool(&["put", &bucket, "ok/file", "inside"]);
    common::add_s3(&env, "source", "bucket", server, &bucket, "");
    let store = env.path("store");
    let store = store.to_str().unwrap();
    env.create(store).ok();
    let id = env.backup(store, "@bucket")["id"]
        .as_str()
        .unwrap()
        .to_string();
    for format in ["zip", "tar"] {
        let out = env
            .command(&["at", store, "dump", &format!("{id}:/"), "--format", format])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{format}: {stderr}");
        assert!(
            stderr.contains("left out of the archive: '..' in 'x/'"),
            "{format}: {stderr}"
        );
        let names = archive_names(format, &out.stdout);
        assert!(names.iter().any(|n| n == "ok/file"), "{names:?}");
        assert!(
            names.iter().all(|n| !n.split('/').any(|c| c == "..")),
            "{format}: {names:?}"
        );
    }
}

fn archive_names(format: &str, bytes: &[u8]) -> Vec<String> {
    match format {
        "zip" => {
            let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            zip.file_names().map(str::to_string).collect()
        }
        _ => tar::Archive::new(bytes)
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                String::from_utf8_lossy(&e.path_bytes()).into_owned()
            })
            .collect(),
    }
}

#[test]
fn names_that_become_one_key_are_reported_not_overwritten() {
    let server = garage();
    let env = Env::new();
    let data = env.path("data");
    fs::create_dir_all(&data).unwrap();
    let name = |raw: &[u8]| data.join(std::ffi::OsStr::from_bytes(raw));
    fs::write(name(b"caf\xe9"), "latin-1").unwrap();
    fs::write(name(b"caf\xff"), "other bytes").unwrap();
    fs::write(data.join("plain"), "plain").unwrap();
    let store = env.local_store();
    let id = env.backup(&store, data.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let target = unique("lossy");
    let dest = common::add_s3(&env, "destination", "dst", server, &target, "");
    let r = env.run(&["at", &store, "restore", "-to", &dest, &id]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("caf\\xe9") && r.stderr.contains("caf\\xff"),
        "both are named: {}",
        r.stderr
    );
    let objects: serde_json::Value =
        serde_json::from_str(&server.tool(&["dump", &target, ""])).unwrap();
    let keys: Vec<&String> = objects.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 1, "only 'plain' is written: {keys:?}");
    assert!(keys[0].ends_with("plain"), "{keys:?}");
}
