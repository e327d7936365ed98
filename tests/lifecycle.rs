//! Removing snapshots: `rm` by id, `forget` by a retention policy (restic's rules), grouped by
//! host and source; `backup --host/--time` to record history. Only snapshot objects go; every
//! snapshot left restores byte-identical and `check --read-data` stays clean.

mod common;

use std::fs;

use common::Env;

fn ids(env: &Env, store: &str) -> Vec<String> {
    let v = env.run(&["--json", "at", store, "ls"]).ok().json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn forget_keeps_what_the_policy_says_per_host_and_source_and_rm_removes_by_id() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let src_s = src.to_str().unwrap();
    let mut by_day = Vec::new();
    for (day, host) in [
        (1, "web1"),
        (1, "web1"),
        (2, "web1"),
        (3, "web1"),
        (3, "web2"),
    ] {
        fs::write(src.join("f"), format!("day {day} on {host}")).unwrap();
        let time = format!("2024-01-0{day} 1{}:00:00", by_day.len());
        let v = env
            .run(&[
                "--json", "at", &store, "backup", "--host", host, "--time", &time, src_s,
            ])
            .ok()
            .json();
        by_day.push(v["id"].as_str().unwrap().to_string());
    }
    // No policy: one line, exit 2, nothing removed.
    let r = env.run(&["at", &store, "forget"]).code(2);
    assert!(r.one_line_error().contains("--keep-last"), "{}", r.stderr);
    // A dry run lists, removes nothing.
    let v = env
        .run(&[
            "--json",
            "at",
            &store,
            "forget",
            "--keep-daily",
            "2",
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(v.as_array().unwrap().len(), 2, "two hosts, two groups: {v}");
    assert_eq!(ids(&env, &store).len(), 5);
    // web1 keeps the newest of its two newest days (days 3 and 2); web2 keeps its only one.
    let out = env
        .run(&["at", &store, "forget", "--keep-daily", "2"])
        .ok()
        .stdout;
    assert!(out.contains("daily snapshot"), "{out}");
    let left = ids(&env, &store);
    let mut want = vec![by_day[2].clone(), by_day[3].clone(), by_day[4].clone()];
    want.sort();
    let mut got = left.clone();
    got.sort();
    assert_eq!(got, want);
    // --host narrows what forget considers.
    env.run(&["at", &store, "forget", "--keep-last", "1", "--host", "web1"])
        .ok();
    assert_eq!(ids(&env, &store).len(), 2);
    // rm by id prefix; an unknown id is its own exit code.
    env.run(&["at", &store, "rm", &by_day[4][..8]]).ok();
    assert_eq!(ids(&env, &store), vec![by_day[3].clone()]);
    env.run(&["at", &store, "rm", "00000000"]).code(14);
    // What is left is whole.
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let out = env.path("out");
    env.restore(&store, &out, &by_day[3]).ok();
    assert_eq!(fs::read(out.join("f")).unwrap(), b"day 3 on web1");
    let bad = env
        .run(&["at", &store, "backup", "--time", "yesterday", src_s])
        .code(2);
    assert!(
        bad.one_line_error().contains("YYYY-MM-DD"),
        "{}",
        bad.stderr
    );
}
