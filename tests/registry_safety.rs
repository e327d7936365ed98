//! The registry keeps every change and every value as written, never lets a secret out, and
//! never lets `@name:sub/path` or `import` reach further than the user asked.

mod common;

use std::fs;

use common::Env;

fn write_registry(env: &Env, text: &str) {
    fs::create_dir_all(env.config_dir()).unwrap();
    fs::write(env.config_dir().join("registry.yaml"), text).unwrap();
}

#[test]
fn concurrent_adds_keep_every_entry() {
    let env = Env::new();
    for round in 0..20 {
        let children: Vec<_> = ["a", "b"]
            .iter()
            .map(|side| {
                let name = format!("r{round}{side}");
                let path = format!("location=/data/{name}");
                env.spawn(&["source", "add", &name, &path])
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
        }
    }
    let listed = env.run(&["source", "ls"]).ok().stdout;
    assert_eq!(listed.lines().count(), 40, "{listed}");
}

#[test]
fn concurrent_sets_of_one_entry_keep_both_changes() {
    let env = Env::new();
    env.run(&["store", "add", "s", "location=/tmp/s"]).ok();
    for round in 0..10 {
        let a = env.spawn(&["store", "set", "s", &format!("concurrency={}", round + 1)]);
        let b = env.spawn(&["store", "set", "s", &format!("passphrase=p{round}")]);
        for child in [a, b] {
            assert!(child.wait_with_output().unwrap().status.success());
        }
        let shown = env
            .run(&["--json", "store", "show", "s", "--secrets"])
            .ok()
            .json();
        assert_eq!(shown["s"]["concurrency"], (round + 1).to_string());
        assert_eq!(shown["s"]["passphrase"], format!("p{round}"));
    }
}

#[test]
fn values_are_kept_exactly_as_written() {
    let env = Env::new();
    write_registry(
        &env,
        "stores:\n  a:\n    location: /tmp/a\n    passphrase: 1.50\n\
         \x20 b:\n    location: /tmp/b\n    passphrase: 0x1F\n\
         \x20 c:\n    location: /tmp/c\n    passphrase: 12345678901234567890123\n",
    );
    let check = |env: &Env| {
        let shown = env
            .run(&["--json", "store", "show", "--secrets"])
            .ok()
            .json();
        assert_eq!(shown["a"]["passphrase"], "1.50");
        assert_eq!(shown["b"]["passphrase"], "0x1F");
        assert_eq!(shown["c"]["passphrase"], "12345678901234567890123");
    };
    check(&env);
    // Saved by kloset and read back: still the same text.
    env.run(&["store", "set", "a", "concurrency=2"]).ok();
    check(&env);
    // And the passphrase used is that text.
    let store = env.path("store");
    env.run(&[
        "store",
        "set",
        "a",
        &format!("location={}", store.display()),
    ])
    .ok();
    env.create("@a").ok();
    let keyfile = env.path("key");
    fs::write(&keyfile, "1.50\n").unwrap();
    env.run(&["--keyfile", keyfile.to_str().unwrap(), "at", "@a", "ls"])
        .ok();
}

#[test]
fn an_unquoted_yaml_tag_is_refused_with_its_entry() {
    let env = Env::new();
    write_registry(
        &env,
        "stores:\n  main:\n    location: /tmp/a\n    passphrase: !pass show kloset\n",
    );
    let r = env.run(&["store", "ls"]).code(18);
    let line = r.one_line_error();
    assert!(
        line.contains("stores.main.passphrase") && line.contains("quote"),
        "{line}"
    );
}

#[test]
fn a_sub_path_cannot_leave_its_entry() {
    let env = Env::new();
    let store = env.local_store();
    let data = env.path("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("f"), "x").unwrap();
    let id = env.backup(&store, data.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dest = env.path("dests/dest");
    fs::create_dir_all(&dest).unwrap();
    env.run(&[
        "destination",
        "add",
        "dest",
        &format!("location={}", dest.display()),
    ])
    .ok();
    for bad in ["@dest:../x", "@dest:a/../../x", "@dest:/etc"] {
        let r = env.run(&["at", &store, "restore", "-to", bad, &id]).code(2);
        r.one_line_error();
    }
    assert_eq!(
        fs::read_dir(env.path("dests")).unwrap().count(),
        1,
        "nothing written beside the destination"
    );
    assert!(!env.path("x").exists());
    env.run(&["at", &store, "restore", "-to", "@dest:./in/", &id])
        .ok();
    assert!(dest.join("in").is_dir());
}

#[test]
fn import_names_every_command_and_needs_allow_commands() {
    let env = Env::new();
    let theirs = env.path("theirs.yaml");
    fs::write(
        &theirs,
        "stores:\n  shared:\n    location: /tmp/shared\n    passphrase_cmd: touch /tmp/pwned; echo p\n\
         \x20 cloud:\n    location: s3://h/bkt\n    access_key: AKIA\n    secret_access_key: '!curl evil'\n",
    )
    .unwrap();
    let r = env
        .run(&["store", "import", theirs.to_str().unwrap()])
        .code(2);
    assert!(
        r.stderr
            .contains("@shared: passphrase_cmd runs: touch /tmp/pwned; echo p"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("@cloud: secret_access_key runs: curl evil"),
        "{}",
        r.stderr
    );
    assert!(r.one_line_error().contains("--allow-commands"));
    assert_eq!(
        env.run(&["store", "ls"]).ok().stdout,
        "",
        "nothing imported"
    );
    env.run(&[
        "store",
        "import",
        theirs.to_str().unwrap(),
        "--allow-commands",
    ])
    .ok();
    assert_eq!(env.run(&["store", "ls"]).ok().stdout, "cloud\nshared\n");
    // Without commands, nothing to ask.
    let plain = env.path("plain.yaml");
    fs::write(&plain, "sources:\n  www:\n    location: /var/www\n").unwrap();
    env.run(&["source", "import", plain.to_str().unwrap()]).ok();
}

#[test]
fn credentials_in_a_location_never_show() {
    let env = Env::new();
    for args in [
        &["at", "s3://KEY:SECRET@127.0.0.1:1/b", "ls"][..],
        &["at", "s3://AKIA:se/cr+et@127.0.0.1:1/bkt", "ls"],
        &[
            "source",
            "add",
            "x",
            "location=s3://KEY:SECRET@127.0.0.1:1/bkt",
        ],
    ] {
        let r = env.run(args);
        assert_ne!(r.code, 0);
        let all = format!("{}{}", r.stdout, r.stderr);
        for secret in ["SECRET", "KEY:", "se/cr", "AKIA"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(r.one_line_error().contains("access_key"), "{all}");
    }
    // A hand-written entry is refused the same way when used.
    write_registry(
        &env,
        "sources:\n  x:\n    location: s3://KEY:SECRET@127.0.0.1:1/bkt\n",
    );
    let r = env.run(&["source", "show", "x"]).ok();
    assert!(!r.stdout.contains("SECRET"), "{}", r.stdout);
}

#[test]
fn secrets_come_from_files_commands_and_never_the_command_line() {
    let env = Env::new();
    let store = env.path("store");
    let secret_file = env.path("pass");
    fs::write(&secret_file, "from a file\n").unwrap();
    env.run(&[
        "store",
        "add",
        "s",
        &format!("location={}", store.display()),
        &format!("passphrase=@{}", secret_file.display()),
    ])
    .ok();
    env.create("@s").ok();
    let opened_with = |pass: &str| {
        let keyfile = env.path("key");
        fs::write(&keyfile, pass).unwrap();
        env.run(&["--keyfile", keyfile.to_str().unwrap(), "at", "@s", "ls"])
            .code
    };
    assert_eq!(
        opened_with("from a file\n"),
        0,
        "the file's line is the passphrase"
    );
    let registry = fs::read_to_string(env.config_dir().join("registry.yaml")).unwrap();
    assert!(
        !registry.contains("from a file"),
        "only the reference is stored"
    );
    // A command gives the same passphrase.
    env.run(&[
        "store",
        "set",
        "s",
        &format!("passphrase=!cat {}", secret_file.display()),
    ])
    .ok();
    let mut ls = env.command(&["at", "@s", "ls"]);
    ls.env_remove("KLOSET_PASSPHRASE");
    assert!(ls.output().unwrap().status.success());
    // `?` asks; with no terminal that is a clear error, never a hang.
    env.run(&["store", "set", "s", "passphrase=?"]).ok();
    let mut ls = env.command(&["at", "@s", "ls"]);
    ls.env_remove("KLOSET_PASSPHRASE");
    let out = ls.output().unwrap();
    assert_eq!(out.status.code(), Some(13), "{out:?}");
    // -o takes the same forms: a missing file is named, its would-be content never shown.
    let r = env
        .run(&[
            "-o",
            "access_key=AKIA",
            "-o",
            "secret_access_key=@/nonexistent/s3-secret",
            "at",
            "s3://127.0.0.1:1/bkt",
            "ls",
        ])
        .code(18);
    assert!(
        r.one_line_error().contains("secret_access_key"),
        "{}",
        r.stderr
    );
}
