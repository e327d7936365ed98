//! Empty control objects on an S3 store (what older klosets wrote for marks and damage
//! records, or what anyone with write access can put): ignored, never an error that stops
//! backup, restore, check or prune.

mod common;

use common::servers::moto;
use common::{unique, Env};

#[test]
fn empty_marks_and_damage_records_on_s3_stop_nothing() {
    let server = moto();
    let env = Env::new();
    let bucket = unique("empty-controls");
    common::add_s3(&env, "store", "s3store", server, &bucket, "");
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    env.create("@s3store").ok();
    env.backup("@s3store", src.to_str().unwrap());
    let fake = "ab".repeat(32);
    server.tool(&["put", &bucket, &format!("damaged/{fake}"), ""]);
    server.tool(&[
        "put",
        &bucket,
        &format!("retiring/{fake}.1700000000000"),
        "",
    ]);
    env.run(&["at", "@s3store", "check"]).ok();
    std::fs::write(src.join("b.txt"), b"beta").unwrap();
    env.backup("@s3store", src.to_str().unwrap());
    let out = env.path("out");
    env.run(&[
        "at",
        "@s3store",
        "restore",
        "-to",
        out.to_str().unwrap(),
        "latest",
    ])
    .ok();
    assert_eq!(std::fs::read(out.join("b.txt")).unwrap(), b"beta");
    assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"alpha");
    env.run(&["at", "@s3store", "prune", "--delete-delay", "0"])
        .ok();
    env.run(&["at", "@s3store", "check", "--read-data"]).ok();
}
