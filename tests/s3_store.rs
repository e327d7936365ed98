//! The end-to-end suite with the store in a real S3 server (Garage on 127.0.0.1), plus what only
//! S3 has: prefixes side by side in one bucket, credentials and endpoint errors, bucket
//! creation, and a server restarted in the middle of a backup.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::servers::{garage, PrivateGarage, S3Server};
use common::{suite, Env};

/// Registers `name` as a store at `prefix` in the shared Garage bucket and returns `@name`.
fn s3_store(env: &Env, server: &S3Server, name: &str, prefix: &str) -> String {
    let mut args = vec!["store".to_string(), "add".into(), name.into()];
    args.push(format!("location={}", server.url(&server.bucket, prefix)));
    args.extend(server.credentials());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args).ok();
    format!("@{name}")
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}", std::process::id()) + &format!("-{}", rand_suffix())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

#[test]
fn round_trip() {
    let env = Env::new();
    let store = s3_store(&env, garage(), "s", &unique("rt"));
    suite::round_trip(&env, &store);
}

#[test]
fn incremental() {
    let env = Env::new();
    let store = s3_store(&env, garage(), "s", &unique("inc"));
    suite::incremental(&env, &store);
}

#[test]
fn errors() {
    let env = Env::new();
    let store = s3_store(&env, garage(), "s", &unique("err"));
    let never = s3_store(&env, garage(), "never", &unique("never"));
    suite::errors(&env, &store, &never);
}

#[test]
fn killed_backup() {
    // A private server, so counting its data blocks sees only this backup's uploads.
    let g = PrivateGarage::start();
    let env = Env::new();
    let store = s3_store(&env, &g.server, "s", "killed");
    let data = g.server.data_dir.join("data");
    suite::killed_backup(&env, &store, &|| suite::count_files(&data));
}

#[test]
fn prefix_stores_side_by_side_in_one_bucket() {
    let env = Env::new();
    let server = garage();
    // Direct s3:// locations, credentials from the standard AWS variables.
    let mut env = env;
    env.extra_env
        .push(("AWS_ACCESS_KEY_ID".into(), server.access_key.clone()));
    env.extra_env
        .push(("AWS_SECRET_ACCESS_KEY".into(), server.secret_key.clone()));
    let base = unique("side");
    let a = server.url(&server.bucket, &format!("{base}/team-a"));
    let b = server.url(&server.bucket, &format!("{base}/team-b"));
    // use_tls defaults to true; these plain-http stores are reached through registry entries.
    let a_ref = register(&env, "team-a", &a, server);
    let b_ref = register(&env, "team-b", &b, server);
    for (store, content) in [(&a_ref, "alpha"), (&b_ref, "beta")] {
        let src = env.path(content);
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("file"), content).unwrap();
        env.create(store).ok();
        env.backup(store, src.to_str().unwrap());
    }
    for (store, content) in [(&a_ref, "alpha"), (&b_ref, "beta")] {
        let snaps = env.run(&["--json", "at", store, "ls"]).ok().json();
        assert_eq!(
            snaps.as_array().unwrap().len(),
            1,
            "{store} sees only its own snapshots"
        );
        let out = env.path(&format!("out-{content}"));
        env.restore(store, &out, "latest").ok();
        assert_eq!(fs::read_to_string(out.join("file")).unwrap(), content);
    }
    // A direct location with use_tls omitted means https: a plain-http server is a TLS mismatch.
    let r = env.run(&["at", &a, "ls"]);
    assert_eq!(r.code, 19, "{}", r.stderr);
    assert!(r.one_line_error().contains("use_tls"), "{}", r.stderr);
}

fn register(env: &Env, name: &str, location: &str, server: &S3Server) -> String {
    let mut args = vec![
        "store".to_string(),
        "add".into(),
        name.into(),
        format!("location={location}"),
    ];
    args.extend(server.credentials());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args).ok();
    format!("@{name}")
}

#[test]
fn connection_and_credential_errors_are_one_line_and_quick() {
    let env = Env::new();
    let server = garage();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"data").unwrap();
    let add = |name: &str, location: String, access: &str, secret: &str, tls: &str| {
        env.run(&[
            "store",
            "add",
            name,
            &format!("location={location}"),
            &format!("access_key={access}"),
            &format!("secret_access_key={secret}"),
            &format!("use_tls={tls}"),
        ])
        .ok();
    };
    add(
        "badkey",
        server.url(&server.bucket, "x"),
        "GK00000000000000000000dead",
        &server.secret_key,
        "false",
    );
    add(
        "badsecret",
        server.url(&server.bucket, "x"),
        &server.access_key,
        "0000000000000000000000000000000000000000000000000000000000000000",
        "false",
    );
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    add(
        "dead",
        format!("s3://127.0.0.1:{dead_port}/bucket"),
        &server.access_key,
        &server.secret_key,
        "false",
    );
    add(
        "tls",
        server.url(&server.bucket, "x"),
        &server.access_key,
        &server.secret_key,
        "true",
    );
    for (name, expect) in [
        ("@badkey", "access denied"),
        ("@badsecret", "access denied"),
        ("@dead", "cannot reach"),
        ("@tls", "TLS mismatch"),
    ] {
        for args in [
            vec!["at", name, "ls"],
            vec!["at", name, "backup", src.to_str().unwrap()],
            vec!["at", name, "create"],
        ] {
            let started = Instant::now();
            let r = env.run(&args);
            assert_eq!(r.code, 19, "{args:?}: {}", r.stderr);
            let line = r.one_line_error();
            assert!(line.contains(expect), "{args:?}: {line}");
            assert!(!line.contains(&server.secret_key), "secret leaked: {line}");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{args:?} took {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn create_makes_a_missing_bucket() {
    let env = Env::new();
    let server = garage();
    let bucket = format!("made-{}", rand_suffix());
    let store = register(&env, "fresh", &server.url(&bucket, ""), server);
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"data").unwrap();
    let r = env.run(&["at", &store, "backup", src.to_str().unwrap()]);
    assert_eq!(r.code, 19, "{}", r.stderr);
    assert!(
        r.one_line_error().contains("bucket does not exist"),
        "{}",
        r.stderr
    );
    let r = env.create(&store).ok();
    assert!(
        r.stderr.contains(&format!("created bucket '{bucket}'")),
        "{}",
        r.stderr
    );
    env.backup(&store, src.to_str().unwrap());
    let out = env.path("out");
    env.restore(&store, &out, "latest").ok();
    assert_eq!(fs::read(out.join("f")).unwrap(), b"data");
}

#[test]
fn server_restarted_mid_backup_leaves_a_usable_store() {
    let mut g = PrivateGarage::start();
    let env = Env::new();
    let store = s3_store(&env, &g.server, "s", "restart");
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..16 {
        fs::write(
            src.join(format!("part-{i}")),
            common::pseudo_random(500 + i, 6 * 1024 * 1024),
        )
        .unwrap();
    }
    env.create(&store).ok();
    let child = env.spawn(&["at", &store, "backup", src.to_str().unwrap()]);
    let data = g.server.data_dir.join("data");
    common::wait_until(|| suite::count_files(&data) >= 2);
    g.restart();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Either the retries carried it through, or it failed cleanly with one line.
    if out.status.code() != Some(0) {
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("kloset:")).count(),
            1,
            "{stderr}"
        );
    }
    env.run(&["at", &store, "check"]).ok();
    let v = env.backup(&store, src.to_str().unwrap());
    let restored = env.path("out");
    env.restore(&store, &restored, v["id"].as_str().unwrap())
        .ok();
    common::assert_same_tree(&src, &restored);
    env.run(&["at", &store, "check", "--read-data"]).ok();
}

#[test]
fn the_metadata_cache_saves_downloads_and_is_never_trusted_blindly() {
    let mut env = Env::new();
    let cache = env.path("cache");
    env.extra_env
        .push(("KLOSET_CACHE_DIR".into(), cache.display().to_string()));
    let prefix = unique("cache");
    let store = s3_store(&env, garage(), "s", &prefix);
    let src = env.path("src");
    common::make_fixture(&src);
    env.create(&store).ok();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    // `info` reads the index and the snapshots; the backup kept its tree packs.
    env.run(&["at", &store, "info"]).ok();
    env.run(&["at", &store, "ls"]).ok();
    // The trust marker (`authenticated`: this host saw the store with a MAC) is not a cache entry.
    let cached: Vec<_> = common::files_under(&cache)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "authenticated"))
        .collect();
    assert!(
        cached
            .iter()
            .any(|p| p.to_string_lossy().contains("/tree-packs/")),
        "{cached:?}"
    );
    assert!(
        cached
            .iter()
            .any(|p| p.to_string_lossy().contains("/index/")),
        "{cached:?}"
    );
    assert!(
        cached
            .iter()
            .any(|p| p.to_string_lossy().contains("/snapshots/")),
        "{cached:?}"
    );
    // Cached entries are named by the hash of their bytes.
    for p in &cached {
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(blake3::hash(&fs::read(p).unwrap()).to_hex().as_str(), name);
    }
    // Garbage in the cache is detected and replaced, and answers stay right.
    for p in &cached {
        fs::write(p, b"garbage").unwrap();
    }
    let out = env.path("out");
    env.restore(&store, &out, &id).ok();
    common::assert_same_tree(&src, &out);
    for p in &cached {
        assert_ne!(fs::read(p).unwrap(), b"garbage");
    }
    // And a deleted cache is only a slower start.
    fs::remove_dir_all(&cache).unwrap();
    assert!(env
        .run(&["at", &store, "ls"])
        .ok()
        .stdout
        .contains(&id[..8]));
    // `check` checks the store, not the cache: every index file and snapshot overwritten in
    // the bucket is found although the cache still holds the right bytes.
    env.run(&["at", &store, "info"]).ok();
    let server = garage();
    for p in common::files_under(&cache) {
        let kind = p.parent().unwrap().file_name().unwrap().to_str().unwrap();
        let name = p.file_name().unwrap().to_str().unwrap();
        let key = match kind {
            "tree-packs" => format!("{prefix}/packs/{}/{name}", &name[..2]),
            _ => format!("{prefix}/{kind}/{name}"),
        };
        server.tool(&["put", &server.bucket, &key, "overwritten"]);
    }
    let r = env.run(&["at", &store, "check", "--read-data"]).code(17);
    assert!(r.stderr.contains("does not match its name"), "{}", r.stderr);
}

#[test]
fn storage_class_is_applied_to_data_packs() {
    let env = Env::new();
    let server = common::servers::moto();
    let bucket = format!("classy-{}", rand_suffix());
    let mut args = vec![
        "store".to_string(),
        "add".into(),
        "s".into(),
        format!("location={}", server.url(&bucket, "kl")),
    ];
    args.extend(server.credentials());
    args.push("storage_class=STANDARD_IA".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args).ok();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), common::pseudo_random(5, 10_000)).unwrap();
    env.create("@s").ok();
    env.backup("@s", src.to_str().unwrap());
    let objects: serde_json::Value =
        serde_json::from_str(&server.tool(&["dump", &bucket, "kl/"])).unwrap();
    let packs: Vec<_> = objects
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("packs/"))
        .collect();
    // One data pack and one tree pack: only the data pack takes the class.
    let classes: Vec<&str> = packs
        .iter()
        .map(|(_, o)| o["StorageClass"].as_str().unwrap_or("STANDARD"))
        .collect();
    assert_eq!(classes.len(), 2, "{objects}");
    assert!(
        classes.contains(&"STANDARD_IA") && classes.contains(&"STANDARD"),
        "{classes:?}"
    );
    assert!(objects["config"]
        .get("StorageClass")
        .is_none_or(|c| c == "STANDARD"));
}

/// A tree of many small files in a few directories, for request counting.
fn many_small_files(root: &std::path::Path, n: usize) {
    for i in 0..n {
        let dir = root.join(format!("d{}", i % 5));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("f{i:04}")),
            common::pseudo_random(i as u64, 200 + (i * 37) % 3000),
        )
        .unwrap();
    }
}

#[test]
fn an_s3_to_s3_restore_reads_the_store_per_pack_not_per_object() {
    let env = Env::new();
    let server = garage();
    let proxy = common::proxy::Proxy::start(&server.host);
    let through_proxy = S3Server {
        host: proxy.host.clone(),
        ..server.clone()
    };
    let store = s3_store(&env, &through_proxy, "s", &unique("count"));
    env.create(&store).ok();
    let src = env.path("src");
    many_small_files(&src, 600);
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let packs = env.run(&["--json", "at", &store, "info"]).ok().json()["packs"]
        .as_u64()
        .unwrap();
    let prefix = unique("restored");
    let mut args = vec!["destination".to_string(), "add".into(), "dst".into()];
    args.push(format!("location={}", server.url(&server.bucket, &prefix)));
    args.extend(server.credentials());
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();

    for round in ["first", "again (every object identical)"] {
        proxy.reset();
        let r = env
            .run(&["--json", "at", &store, "restore", "-to", "@dst", &id])
            .ok()
            .json();
        let requests = proxy.requests();
        // config, listings and gets of index files and snapshots, one tree read per level:
        // a constant; the rest is one ranged read per pack touched.
        assert!(
            requests.len() as u64 <= packs + 15,
            "{round}: {} store requests for {packs} packs and 600 objects: {requests:#?}",
            requests.len()
        );
        if round == "first" {
            assert_eq!(r["objects"], 600);
        } else {
            assert_eq!(r["objects"], 0);
            assert_eq!(r["skipped_identical"], 600);
        }
    }
    let restored: serde_json::Value =
        serde_json::from_str(&server.tool(&["dump", &server.bucket, &format!("{prefix}/")]))
            .unwrap();
    assert_eq!(restored.as_object().unwrap().len(), 600);
    for i in [0usize, 1, 299, 599] {
        let key = format!("d{}/f{i:04}", i % 5);
        let data = fs::read(src.join(&key)).unwrap();
        use md5::Digest;
        assert_eq!(
            restored[&key]["md5"],
            hex::encode(md5::Md5::digest(&data)),
            "{key}"
        );
    }
}

/// A store entry with no access_key: `location` and `use_tls` only.
fn keyless_store(env: &Env, server: &S3Server, name: &str) -> String {
    let location = format!("location={}", server.url(&server.bucket, &unique(name)));
    env.run(&["store", "add", name, &location, "use_tls=false"])
        .ok();
    format!("@{name}")
}

fn backup_and_restore(env: &Env, store: &str) {
    env.create(store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    let id = env.backup(store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.path(&unique("out"));
    env.restore(store, &out, &id).ok();
    common::assert_same_tree(&src, &out);
}

#[test]
fn credentials_come_from_the_aws_environment_when_the_entry_has_none() {
    let server = garage();
    let mut env = Env::new();
    let store = keyless_store(&env, server, "env-creds");
    // Without any credentials: one line that says where they can come from.
    let r = env.run(&["at", &store, "create"]).code(18);
    assert!(
        r.one_line_error().contains("AWS_ACCESS_KEY_ID"),
        "{}",
        r.stderr
    );
    env.extra_env = vec![
        ("AWS_ACCESS_KEY_ID".into(), server.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), server.secret_key.clone()),
    ];
    backup_and_restore(&env, &store);
}

#[test]
fn credentials_come_from_a_shared_credentials_profile() {
    let server = garage();
    let mut env = Env::new();
    let aws = env.path("home/.aws");
    fs::create_dir_all(&aws).unwrap();
    fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[kloset-test]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.access_key, server.secret_key
        ),
    )
    .unwrap();
    let store = keyless_store(&env, server, "profile-creds");
    env.extra_env = vec![("AWS_PROFILE".into(), "missing-profile".into())];
    let r = env.run(&["at", &store, "create"]).code(18);
    assert!(
        r.one_line_error().contains("missing-profile"),
        "{}",
        r.stderr
    );
    env.extra_env = vec![("AWS_PROFILE".into(), "kloset-test".into())];
    backup_and_restore(&env, &store);
}

#[test]
fn a_raw_s3_location_takes_options_on_the_command_line() {
    let server = garage();
    let env = Env::new();
    let location = server.url(&server.bucket, &unique("raw"));
    let key = format!("access_key={}", server.access_key);
    let secret = format!("secret_access_key={}", server.secret_key);
    // The endpoint speaks plain HTTP: without use_tls=false, a one-line TLS hint.
    let r = env
        .run(&["-o", &key, "-o", &secret, "at", &location, "ls"])
        .code(19);
    assert!(r.one_line_error().contains("use_tls"), "{}", r.stderr);
    let opts = ["-o", "use_tls=false", "-o", &key, "-o", &secret];
    fn with<'a>(opts: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
        [opts, rest].concat()
    }
    env.run(&with(
        &opts,
        &["at", &location, "create", "--kdf-memory-mib", "8"],
    ))
    .ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.run(&with(
        &opts,
        &["at", &location, "backup", src.to_str().unwrap()],
    ))
    .ok();
    let out = env.path("out");
    env.run(&with(
        &opts,
        &[
            "at",
            &location,
            "restore",
            "-to",
            out.to_str().unwrap(),
            "latest",
        ],
    ))
    .ok();
    common::assert_same_tree(&src, &out);
    let r = env.run(&with(&opts, &["-o", "colour=blue", "at", &location, "ls"]));
    assert_eq!(r.code, 18, "{}", r.stderr);
    assert!(r.one_line_error().contains("unknown option 'colour'"));
}

#[test]
fn racing_creates_never_both_succeed_even_where_the_server_ignores_conditions() {
    let server = garage();
    for round in 0..4 {
        let env = Env::new();
        let location = format!("location={}", server.url(&server.bucket, &unique("race")));
        let mut add = vec!["store", "add", "s", &location];
        let creds = server.credentials();
        add.extend(creds.iter().map(String::as_str));
        env.run(&add).ok();
        let spawn = |pass: &str| {
            env.command(&[
                "at",
                "@s",
                "create",
                "--kdf-memory-mib",
                "8",
                "--kdf-iterations",
                "1",
            ])
            .env("KLOSET_PASSPHRASE", pass)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        };
        let (a, b) = (spawn("first"), spawn("second"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let won: Vec<&str> = [("first", &a), ("second", &b)]
            .iter()
            .filter(|(_, o)| o.status.success())
            .map(|(p, _)| *p)
            .collect();
        assert!(won.len() <= 1, "round {round}: both creates succeeded");
        for o in [&a, &b].iter().filter(|o| !o.status.success()) {
            assert_eq!(
                o.status.code(),
                Some(11),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let open = |pass: &str| {
            env.command(&["at", "@s", "ls"])
                .env("KLOSET_PASSPHRASE", pass)
                .output()
                .unwrap()
                .status
                .code()
        };
        match won.first() {
            Some(&winner) => {
                let loser = if winner == "first" { "second" } else { "first" };
                assert_eq!(open(winner), Some(0));
                assert_eq!(open(loser), Some(12));
            }
            // Both gave up: the place is still free.
            None => {
                env.create("@s").ok();
            }
        }
    }
}

#[test]
fn a_store_that_lost_its_config_is_not_offered_create() {
    let env = Env::new();
    let server = garage();
    let prefix = unique("lost");
    let store = s3_store(&env, server, "s", &prefix);
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    env.backup(&store, src.to_str().unwrap());
    server.tool(&["delete", &server.bucket, &format!("{prefix}/config")]);
    let r = env.run(&["at", &store, "ls"]).code(10);
    assert!(
        r.one_line_error().contains("do not run 'create'"),
        "{}",
        r.stderr
    );
    let r = env.create(&store).code(10);
    assert!(
        r.one_line_error().contains("config is missing"),
        "{}",
        r.stderr
    );
}

/// Two hosts back up in a loop into one S3 store while a third runs forget and prune with a
/// short delete delay: no snapshot ever points at deleted data, and every one left restores.
#[test]
fn prune_beside_backups_from_two_processes_loses_nothing() {
    let env = Env::new();
    let prefix = unique("prune-race");
    let store = s3_store(&env, garage(), "s", &prefix);
    env.create_small_packs(&store).ok();
    let made: std::sync::Mutex<Vec<(String, std::path::PathBuf)>> = Default::default();
    std::thread::scope(|scope| {
        for p in 0..2u64 {
            let (env, store, made) = (&env, &store, &made);
            scope.spawn(move || {
                let src = env.path(&format!("src-{p}"));
                for round in 0..6u64 {
                    fs::create_dir_all(&src).unwrap();
                    for i in 0..12u64 {
                        // Each round changes a third of the files.
                        let seed = if i % 3 == round % 3 {
                            p * 1000 + round * 20 + i
                        } else {
                            p * 1000 + i
                        };
                        fs::write(
                            src.join(format!("f{i:02}")),
                            common::pseudo_random(seed, 40_000),
                        )
                        .unwrap();
                    }
                    let r = env.run(&[
                        "--json",
                        "at",
                        store,
                        "backup",
                        "--host",
                        &format!("h{p}"),
                        src.to_str().unwrap(),
                    ]);
                    if r.code != 0 {
                        assert!(r.stderr.contains("deleted by a prune"), "{}", r.stderr);
                        continue;
                    }
                    let expect = env.path(&format!("expect-{p}-{round}"));
                    fs::create_dir_all(&expect).unwrap();
                    for f in common::files_under(&src) {
                        fs::copy(&f, expect.join(f.file_name().unwrap())).unwrap();
                    }
                    made.lock()
                        .unwrap()
                        .push((r.json()["id"].as_str().unwrap().to_string(), expect));
                }
            });
        }
        let (env, store) = (&env, &store);
        scope.spawn(move || {
            for _ in 0..6 {
                env.run(&["at", store, "forget", "--keep-last", "2"]).ok();
                env.run(&[
                    "at",
                    store,
                    "prune",
                    "--delete-delay",
                    "1s",
                    "--max-unused",
                    "0%",
                ])
                .ok();
                std::thread::sleep(Duration::from_millis(300));
            }
        });
    });
    env.prune_now(&store).ok();
    env.run(&["at", &store, "check", "--read-data"]).ok();
    let listed = env.run(&["--json", "at", &store, "ls"]).ok().json();
    let left: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert!(left.len() >= 2, "{left:?}");
    let made = made.into_inner().unwrap();
    for id in &left {
        let (_, expect) = made
            .iter()
            .find(|(m, _)| m == id)
            .expect("a snapshot we made");
        let out = env.path(&format!("out-{}", &id[..8]));
        env.restore(&store, &out, id).ok();
        let files = common::files_under(expect);
        assert_eq!(files.len(), common::files_under(&out).len());
        for f in files {
            let restored = fs::read(out.join(f.file_name().unwrap())).unwrap();
            assert!(restored == fs::read(&f).unwrap(), "{id}: {f:?} differs");
        }
    }
}
