//! The connector registry: add/show/set/unset/rm/ls/default/import, validation, masking, file
//! safety, and `@name` resolution in `at`, `backup` and `restore -to`.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::Env;

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";

fn registry_text(env: &Env) -> String {
    fs::read_to_string(env.config_dir().join("registry.yaml")).unwrap()
}

#[test]
fn the_seed_command_lines_work_verbatim() {
    let env = Env::new();
    for role in ["source", "store", "destination"] {
        let name = format!("my-s3-{role}");
        let r = env.run(&[
            role,
            "add",
            &name,
            "location=s3://s3.eu-west-3.amazonaws.com/my-bucket",
            "access_key=AKIAIOSFODNN7EXAMPLE",
            &format!("secret_access_key={SECRET}"),
            "use_tls=true",
        ]);
        r.ok();
        let shown = env.run(&["--json", role, "show", &name]).ok().json();
        assert_eq!(
            shown[&name]["location"],
            "s3://s3.eu-west-3.amazonaws.com/my-bucket"
        );
        assert_eq!(shown[&name]["access_key"], "********");
        assert_eq!(shown[&name]["secret_access_key"], "********");
        assert_eq!(shown[&name]["use_tls"], "true");
        let secrets = env
            .run(&["--json", role, "show", &name, "--secrets"])
            .ok()
            .json();
        assert_eq!(secrets[&name]["secret_access_key"], SECRET);
    }
    // The alternative form: the location as the first bare argument.
    env.run(&["source", "add", "home", "/home/me"]).ok();
    let shown = env.run(&["source", "show", "home", "--yaml"]).ok().stdout;
    assert!(shown.contains("location: /home/me"), "{shown}");
}

#[test]
fn set_unset_rm_ls_and_default() {
    let env = Env::new();
    env.run(&["store", "add", "a", "location=/tmp/a"]).ok();
    env.run(&["store", "add", "b", "location=/tmp/b", "concurrency=3"])
        .ok();
    assert_eq!(env.run(&["store", "ls"]).ok().stdout, "a\nb\n");
    env.run(&["store", "set", "a", "concurrency=8"]).ok();
    assert_eq!(
        env.run(&["--json", "store", "show", "a"]).ok().json()["a"]["concurrency"],
        "8"
    );
    env.run(&["store", "unset", "b", "concurrency"]).ok();
    assert!(env.run(&["--json", "store", "show", "b"]).ok().json()["b"]
        .get("concurrency")
        .is_none());
    let r = env.run(&["store", "unset", "b", "location"]).code(18);
    assert!(r.one_line_error().contains("cannot be unset"));
    env.run(&["store", "default", "b"]).ok();
    assert_eq!(env.run(&["store", "ls"]).ok().stdout, "a\nb (default)\n");
    env.run(&["store", "rm", "b"]).ok();
    assert_eq!(env.run(&["store", "ls"]).ok().stdout, "a\n");
    assert!(!registry_text(&env).contains("default_store"));
    let r = env.run(&["store", "rm", "b"]).code(18);
    assert!(r.one_line_error().contains("kloset store ls"));
    let r = env.run(&["source", "default", "a"]).code(18);
    r.one_line_error();
}

#[test]
fn validation_errors_name_the_fix() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "source",
                "add",
                "x",
                "location=s3://h:9000/bucket",
                "access_key=k",
                "secret_access_key=s",
                "colour=blue",
            ],
            "valid keys are location, access_key",
        ),
        (
            &[
                "source",
                "add",
                "x",
                "location=s3://h:9000/bucket",
                "access_key=k",
            ],
            "needs secret_access_key",
        ),
        (
            &[
                "store",
                "add",
                "x",
                "location=s3://h:port/bucket",
                "access_key=k",
                "secret_access_key=s",
            ],
            "malformed location",
        ),
        (
            &["store", "add", "x", "location=s3://host"],
            "malformed location",
        ),
        (
            &["store", "add", "x", "location=ftp://host/x"],
            "unsupported location scheme",
        ),
        (
            &["destination", "add", "x", "location=/tmp/x", "passphrase=p"],
            "unknown option 'passphrase'",
        ),
        (
            &[
                "store",
                "add",
                "x",
                "location=s3://h/bucket",
                "access_key=k",
                "secret_access_key=s",
                "use_tls=maybe",
            ],
            "use_tls must be true or false",
        ),
        (
            &["store", "add", "bad/name", "location=/tmp"],
            "invalid name",
        ),
        (&["store", "add", "x", "=value"], "expected key=value"),
    ];
    for (args, expected) in cases {
        let r = env.run(args).code(18);
        let line = r.one_line_error();
        assert!(line.contains(expected), "{args:?}: {line}");
    }
    // Nothing invalid was written.
    assert!(!env.config_dir().join("registry.yaml").exists());
    // set validates too, and leaves the entry as it was.
    env.run(&["store", "add", "ok", "location=/tmp/ok"]).ok();
    env.run(&["store", "set", "ok", "access_key=x"]).code(18);
    assert!(!registry_text(&env).contains("access_key"));
}

#[test]
fn file_is_private_and_never_half_written() {
    let env = Env::new();
    env.run(&["store", "add", "s", "location=/tmp/s", "passphrase=hunter2"])
        .ok();
    let path = env.config_dir().join("registry.yaml");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Kill writers at arbitrary moments: the file always parses and never holds a partial entry.
    for i in 0..25u64 {
        let mut child = env
            .command(&["store", "set", "s", &format!("concurrency={}", i + 1)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(200 * (i % 7)));
        let _ = child.kill();
        let _ = child.wait();
        let shown = env.run(&["--json", "store", "show", "s"]).ok().json();
        assert_eq!(shown["s"]["location"], "/tmp/s");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let leftovers: Vec<_> = fs::read_dir(env.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            // The edit lock stays (an empty file; removing it would let two writers lock
            // different inodes).
            n != "registry.yaml" && n != "registry.yaml.lock" && !n.starts_with(".registry.")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn corrupt_file_is_reported_with_its_line_and_kept() {
    let env = Env::new();
    fs::create_dir_all(env.config_dir()).unwrap();
    let path = env.config_dir().join("registry.yaml");
    let broken =
        "stores:\n  s:\n    location: /tmp/s\n    secret_access_key: topsecret\n  - oops\n";
    fs::write(&path, broken).unwrap();
    for args in [
        &["store", "ls"][..],
        &["store", "add", "t", "location=/tmp/t"][..],
        &["at", "@s", "ls"][..],
    ] {
        let r = env.run(args).code(18);
        let line = r.one_line_error().to_string();
        assert!(
            line.contains("registry.yaml") && line.contains("line"),
            "{line}"
        );
        assert!(!line.contains("topsecret"), "{line}");
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn secrets_stay_out_of_errors_and_help() {
    let env = Env::new();
    env.run(&[
        "store",
        "add",
        "s",
        "location=s3://127.0.0.1:1/bucket",
        "access_key=AKIAEXAMPLE",
        &format!("secret_access_key={SECRET}"),
        "use_tls=false",
    ])
    .ok();
    let r = env.run(&["at", "@s", "ls"]);
    assert_ne!(r.code, 0);
    assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
    let r = env.run(&["store", "set", "s", "bogus=1"]);
    assert!(!r.stderr.contains(SECRET));
    for args in [
        &["--help"][..],
        &["store", "add", "--help"][..],
        &["store", "show"][..],
    ] {
        let r = env.run(args).ok();
        assert!(!r.stdout.contains(SECRET), "{args:?}");
    }
}

#[test]
fn names_resolve_in_at_backup_and_restore() {
    let env = Env::new();
    let src = env.path("data");
    fs::create_dir_all(src.join("sub/inner")).unwrap();
    fs::write(src.join("top.txt"), b"top").unwrap();
    fs::write(src.join("sub/inner/deep.txt"), b"deep").unwrap();
    let store_dir = env.path("store");
    let dest_dir = env.path("restored");
    env.run(&[
        "store",
        "add",
        "local",
        &format!("location={}", store_dir.display()),
    ])
    .ok();
    env.run(&["source", "add", "data", src.to_str().unwrap()])
        .ok();
    env.run(&[
        "destination",
        "add",
        "out",
        &format!("location=fs://{}", dest_dir.display()),
    ])
    .ok();

    env.create("@local").ok();
    assert!(store_dir.join("config").is_file());
    let full = env.backup("@local", "@data");
    assert_eq!(full["snapshot"]["source"], "@data");
    let sub = env.backup("@local", "@data:sub");
    assert_eq!(sub["snapshot"]["summary"]["files"], 1);

    let id = full["id"].as_str().unwrap();
    env.run(&["at", "@local", "restore", "-to", "@out", id])
        .ok();
    common::assert_same_tree(&src, &dest_dir);
    env.run(&[
        "at",
        "@local",
        "restore",
        "-to",
        "@out:again/here",
        &id[..8],
    ])
    .ok();
    common::assert_same_tree(&src, &dest_dir.join("again/here"));

    // The default store serves commands without `at`.
    env.run(&["store", "default", "local"]).ok();
    let snaps = env.run(&["--json", "ls"]).ok().json();
    assert_eq!(snaps.as_array().unwrap().len(), 2);

    // Unknown names are clear errors.
    for args in [
        vec!["at", "@nope", "ls"],
        vec!["at", "@local", "backup", "@nope"],
        vec!["at", "@local", "restore", "-to", "@nope", id],
    ] {
        let r = env.run(&args).code(18);
        assert!(r.one_line_error().contains("unknown"), "{args:?}");
    }
}

#[test]
fn passphrase_sources_in_order() {
    let env = Env::new();
    let store = env.path("store");
    env.run(&[
        "store",
        "add",
        "s",
        &format!("location={}", store.display()),
        "passphrase=from-option",
    ])
    .ok();
    let create = env
        .command(&[
            "at",
            "@s",
            "create",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ])
        .env_remove("KLOSET_PASSPHRASE")
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    // The option beats KLOSET_PASSPHRASE ...
    let r = env
        .command(&["at", "@s", "ls"])
        .env("KLOSET_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert!(r.status.success());
    // ... passphrase_cmd serves when there is no option ...
    env.run(&["store", "unset", "s", "passphrase"]).ok();
    env.run(&["store", "set", "s", "passphrase_cmd=echo from-option"])
        .ok();
    let r = env
        .command(&["at", "@s", "ls"])
        .env_remove("KLOSET_PASSPHRASE")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // ... and --keyfile beats them all.
    let keyfile = env.path("key");
    fs::write(&keyfile, "wrong\n").unwrap();
    let r = env
        .command(&["--keyfile", keyfile.to_str().unwrap(), "at", "@s", "ls"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(12));
    fs::write(&keyfile, "from-option\nignored second line\n").unwrap();
    let r = env
        .command(&["--keyfile", keyfile.to_str().unwrap(), "at", "@s", "ls"])
        .output()
        .unwrap();
    assert!(r.status.success());
}

#[test]
fn example_config_imports() {
    let env = Env::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml");
    for role in ["source", "store", "destination"] {
        env.run(&[role, "import", example, "--allow-commands"]).ok();
    }
    assert_eq!(
        env.run(&["source", "ls"]).ok().stdout,
        "home\nmy-s3-bucket\n"
    );
    assert_eq!(
        env.run(&["store", "ls"]).ok().stdout,
        "local-backups (default)\nmy-s3-store\n"
    );
    let r = env
        .run(&["store", "import", example, "--allow-commands"])
        .code(18);
    assert!(r.one_line_error().contains("--force"));
    env.run(&["store", "import", example, "--force", "--allow-commands"])
        .ok();
}

#[test]
fn a_yaml_type_error_never_prints_the_value() {
    let env = Env::new();
    fs::create_dir_all(env.config_dir()).unwrap();
    fs::write(
        env.config_dir().join("registry.yaml"),
        "stores: \"AKIAVERYSECRETVALUE\"\n",
    )
    .unwrap();
    let r = env.run(&["store", "ls"]).code(18);
    let line = r.one_line_error();
    assert!(line.contains("registry"), "{line}");
    assert!(!r.stderr.contains("AKIAVERYSECRETVALUE"), "{}", r.stderr);
}

#[test]
fn a_registry_that_is_a_symlink_stays_one() {
    let env = Env::new();
    let real = env.path("dotfiles/registry.yaml");
    fs::create_dir_all(real.parent().unwrap()).unwrap();
    fs::write(&real, "").unwrap();
    fs::create_dir_all(env.config_dir()).unwrap();
    let link = env.config_dir().join("registry.yaml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    env.run(&["store", "add", "s", "location=/tmp/somewhere"])
        .ok();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&real)
        .unwrap()
        .contains("/tmp/somewhere"));
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn show_masks_credentials_inside_urls() {
    let env = Env::new();
    // Refused on the command line, and the refusal does not repeat them ...
    let r = env
        .run(&[
            "store",
            "add",
            "s",
            "location=s3://127.0.0.1:3900/bucket",
            "endpoint=http://user:hunter2@127.0.0.1:3900",
        ])
        .code(18);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    // ... and masked when a hand-written registry has them.
    fs::create_dir_all(env.config_dir()).unwrap();
    fs::write(
        env.config_dir().join("registry.yaml"),
        "stores:\n  s:\n    location: s3://127.0.0.1:3900/bucket\n    endpoint: http://user:hunter2@127.0.0.1:3900\n",
    )
    .unwrap();
    let shown = env.run(&["store", "show", "s"]).ok().stdout;
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("http://********@127.0.0.1:3900"), "{shown}");
}

#[test]
fn passphrase_cmd_failures_show_its_own_message() {
    let env = Env::new();
    env.run(&[
        "store",
        "add",
        "s",
        &format!("location={}", env.path("store").display()),
        "passphrase_cmd=echo 'vault is sealed' >&2; exit 3",
    ])
    .ok();
    let r = env.run(&["at", "@s", "create"]).code(18);
    assert!(r.stderr.contains("vault is sealed"), "{}", r.stderr);
}
