//! The store's parameters are authenticated and range-checked, and key objects are checked
//! before any Argon2 runs: what someone with write access to a store, but no passphrase, can
//! do to the `config` and `keys/` objects (FORMAT.md, "Bound parameters").

mod common;

use std::fs;
use std::path::Path;

use common::Env;
use kloset::repo::config::{derive_kek, KdfParams, StoreConfig};
use kloset::repo::crypto::{unwrap_key, wrap_key};
use kloset::repo::id::Id;
use kloset::repo::params::bound_aad;
use serde_json::{json, Value};

fn store(env: &Env) -> String {
    env.path("store").to_str().unwrap().to_string()
}

fn read_config(store: &str) -> Value {
    serde_json::from_slice(&fs::read(Path::new(store).join("config")).unwrap()).unwrap()
}

fn write_config(store: &str, config: &Value) {
    fs::write(
        Path::new(store).join("config"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
}

/// What the attacker does first: the config loses its MAC and key check.
fn strip(config: &mut Value) {
    let o = config.as_object_mut().unwrap();
    o.remove("mac");
    o.remove("master_key_check");
    o.remove("passphrase_check");
}

fn key_objects(store: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(Path::new(store).join("keys"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn read_key(store: &str, name: &str) -> Value {
    serde_json::from_slice(&fs::read(Path::new(store).join("keys").join(name)).unwrap()).unwrap()
}

/// Stores a key object under the hash of its bytes, as `key add` does.
fn plant_key(store: &str, key: &Value) -> String {
    let bytes = serde_json::to_vec_pretty(key).unwrap();
    let name = Id::of_bytes(&bytes).hex();
    fs::write(Path::new(store).join("keys").join(&name), bytes).unwrap();
    name
}

fn add_key(env: &mut Env, store: &str, passphrase: &str) {
    env.extra_env
        .push(("KLOSET_NEW_PASSPHRASE".into(), passphrase.into()));
    env.run(&["at", store, "key", "add"]).ok();
    env.extra_env.pop();
}

fn with_passphrase<T>(env: &mut Env, passphrase: &str, f: impl FnOnce(&Env) -> T) -> T {
    env.extra_env
        .push(("KLOSET_PASSPHRASE".into(), passphrase.into()));
    let out = f(env);
    env.extra_env.pop();
    out
}

/// A host that never opened the store: its own, empty cache.
fn on_new_host<T>(env: &mut Env, f: impl FnOnce(&Env) -> T) -> T {
    static HOSTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = HOSTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let home = env.path(&format!("home-{n}"));
    fs::create_dir_all(&home).unwrap();
    env.extra_env
        .push(("HOME".into(), home.to_str().unwrap().into()));
    let out = f(env);
    env.extra_env.pop();
    out
}

fn kdf_of(v: &Value) -> KdfParams {
    serde_json::from_value(v["kdf"].clone()).unwrap()
}

/// Rewraps a master key as kloset did before bound parameters: the store id alone as AAD.
fn legacy_wrapped(
    config: &StoreConfig,
    kdf: &KdfParams,
    passphrase: &str,
    wrapped: &str,
) -> String {
    let kek = derive_kek(passphrase, kdf).unwrap();
    let master = unwrap_key(
        &kek,
        &bound_aad(config, kdf),
        &hex::decode(wrapped).unwrap(),
    )
    .expect("a bound key");
    hex::encode(wrap_key(&kek, &config.id.0, &master))
}

fn is_bound(config: &Value, kdf: &KdfParams, passphrase: &str, wrapped: &str) -> bool {
    let config: StoreConfig = serde_json::from_value(config.clone()).unwrap();
    let kek = derive_kek(passphrase, kdf).unwrap();
    unwrap_key(
        &kek,
        &bound_aad(&config, kdf),
        &hex::decode(wrapped).unwrap(),
    )
    .is_some()
}

#[test]
fn a_config_stripped_of_its_mac_does_not_open() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    env.run(&["at", &store, "ls"]).ok();
    let good = read_config(&store);

    // The case: tiny packs would show the provider every blob's size.
    let mut c = good.clone();
    strip(&mut c);
    c["pack_size"] = json!(4096);
    write_config(&store, &c);
    let r = env.run(&["at", &store, "ls"]).code(17);
    assert!(
        r.one_line_error().contains("pack_size 4096"),
        "{}",
        r.stderr
    );

    // Only the MAC gone: refused on this host, which saw the store authenticated ...
    let mut c = good.clone();
    strip(&mut c);
    write_config(&store, &c);
    let r = env.run(&["at", &store, "ls"]).code(17);
    assert!(r.one_line_error().contains("no MAC"), "{}", r.stderr);
    // ... and on a host that never did, since the config's key is bound.
    let r = on_new_host(&mut env, |env| env.run(&["at", &store, "ls"]).code(17));
    assert!(r.one_line_error().contains("no MAC"), "{}", r.stderr);

    // A changed parameter that stays in range unbinds the key everywhere; the passphrase
    // check tells it from a wrong passphrase, and without it the store answers as to one.
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("mac");
    c["pack_size"] = json!(65536);
    write_config(&store, &c);
    env.run(&["at", &store, "ls"]).code(17);
    let r = on_new_host(&mut env, |env| env.run(&["at", &store, "ls"]).code(17));
    assert!(
        r.one_line_error().contains("parameters were changed"),
        "{}",
        r.stderr
    );
    strip(&mut c);
    write_config(&store, &c);
    on_new_host(&mut env, |env| env.run(&["at", &store, "ls"]).code(12));

    write_config(&store, &good);
    env.run(&["at", &store, "check"]).ok();
}

#[test]
fn lowered_kdf_parameters_are_refused_and_key_add_keeps_the_defaults() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    add_key(&mut env, &store, "second");
    let good = read_config(&store);

    // Made with a cheap KDF (8 MiB, 1 pass): a new key still gets today's defaults.
    add_key(&mut env, &store, "third");
    for name in key_objects(&store) {
        let kdf = kdf_of(&read_key(&store, &name));
        assert!(
            kdf.memory_kib >= 64 * 1024 && kdf.iterations >= 3,
            "key {name} was written below the defaults: {kdf:?}"
        );
    }

    // Lowered by someone without the key, so that the next `key add` is cheap to attack.
    let mut c = good.clone();
    strip(&mut c);
    c["kdf"]["memory_kib"] = json!(8);
    write_config(&store, &c);
    let before = key_objects(&store);
    for fresh in [false, true] {
        let r = with_passphrase(&mut env, "second", |env| {
            let run = |env: &Env| {
                env.command(&["at", &store, "key", "add"])
                    .env("KLOSET_NEW_PASSPHRASE", "fourth")
                    .output()
                    .unwrap()
            };
            match fresh {
                false => run(env),
                true => {
                    let home = env.path("home-fresh");
                    fs::create_dir_all(&home).unwrap();
                    env.command(&["at", &store, "key", "add"])
                        .env("KLOSET_NEW_PASSPHRASE", "fourth")
                        .env("HOME", &home)
                        .output()
                        .unwrap()
                }
            }
        });
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(17), "{stderr}");
        assert!(stderr.contains("no MAC"), "{stderr}");
    }
    assert_eq!(key_objects(&store), before, "no key was added");
}

/// An edit of the config.
type Change = fn(&mut Value);

#[test]
fn out_of_range_pack_and_chunker_sizes_are_clear_errors_not_panics() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    let src = env.path("src");
    common::make_fixture(&src);
    let good = read_config(&store);
    let cases: Vec<(&str, Change)> = vec![
        ("pack_size 4294967296", |c| {
            c["pack_size"] = json!(4u64 << 30)
        }),
        ("chunker min_size 0", |c| {
            c["chunker"]["min_size"] = json!(0)
        }),
        ("chunker max_size 4294967295", |c| {
            c["chunker"]["max_size"] = json!(u32::MAX)
        }),
        ("out of order", |c| {
            c["chunker"]["min_size"] = json!(1 << 20);
            c["chunker"]["avg_size"] = json!(4096);
        }),
        ("memory_kib 4294967295", |c| {
            c["kdf"]["memory_kib"] = json!(u32::MAX)
        }),
    ];
    for (why, change) in cases {
        let mut c = good.clone();
        strip(&mut c);
        change(&mut c);
        write_config(&store, &c);
        let r = on_new_host(&mut env, |env| {
            env.run(&["at", &store, "backup", src.to_str().unwrap()])
        });
        assert_eq!(r.code, 17, "{why}: {}", r.stderr);
        assert!(r.one_line_error().contains(why), "{why}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

#[test]
fn a_planted_key_object_with_huge_kdf_costs_is_skipped_without_argon2() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    add_key(&mut env, &store, "second");
    let second = key_objects(&store).pop().unwrap();
    let mut planted = read_key(&store, &second);
    planted["kdf"]["memory_kib"] = json!(u32::MAX);
    // A few, so that some are listed before the real key (key objects are named by their hash).
    for i in 0..4 {
        planted["host"] = json!(format!("planted-{i}"));
        plant_key(&store, &planted);
    }
    let r = with_passphrase(&mut env, "second", |env| env.run(&["at", &store, "ls"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // No key takes this one: every object is looked at (so each planted one is warned about,
    // whatever the listing order), none runs Argon2 over the caps.
    let r = with_passphrase(&mut env, "wrong", |env| env.run(&["at", &store, "ls"]));
    assert_eq!(r.code, 12, "{}", r.stderr);
    assert!(r.stderr.contains("memory_kib 4294967295"), "{}", r.stderr);
    let r = env.run(&["at", &store, "check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("problem: key object keys/") && r.stderr.contains("memory_kib"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_key_object_not_named_by_its_hash_is_never_tried() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    add_key(&mut env, &store, "second");
    let second = key_objects(&store).pop().unwrap();
    let keys = Path::new(&store).join("keys");
    let misnamed = "0".repeat(64);
    fs::rename(keys.join(&second), keys.join(&misnamed)).unwrap();
    let r = with_passphrase(&mut env, "second", |env| env.run(&["at", &store, "ls"]));
    assert_eq!(r.code, 12, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not hash to its name"),
        "{}",
        r.stderr
    );
    let r = env.run(&["at", &store, "check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!(
            "key object keys/{misnamed} does not hash to its name"
        )),
        "{}",
        r.stderr
    );
    fs::rename(keys.join(&misnamed), keys.join(&second)).unwrap();
    with_passphrase(&mut env, "second", |env| {
        env.run(&["at", &store, "ls"]).ok()
    });
}

#[test]
fn a_legacy_store_opens_is_bound_on_first_use_and_then_needs_its_mac() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    add_key(&mut env, &store, "second");
    let src = env.path("src");
    common::make_fixture(&src);
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Written as kloset wrote stores before MACs and bound keys.
    let mut c = read_config(&store);
    let typed: StoreConfig = serde_json::from_value(c.clone()).unwrap();
    c["master_key"] = json!(legacy_wrapped(
        &typed,
        &typed.kdf,
        "correct horse",
        &typed.master_key
    ));
    strip(&mut c);
    write_config(&store, &c);
    let old_key = key_objects(&store).pop().unwrap();
    let mut k = read_key(&store, &old_key);
    let kdf = kdf_of(&k);
    k.as_object_mut().unwrap().remove("passphrase_check");
    k["master_key"] = json!(legacy_wrapped(
        &typed,
        &kdf,
        "second",
        k["master_key"].as_str().unwrap()
    ));
    fs::remove_file(Path::new(&store).join("keys").join(&old_key)).unwrap();
    let legacy_key = plant_key(&store, &k);

    // A host that never saw it opens it (nothing tells it from a store made before MACs) and
    // binds the config's key, adding the MAC.
    on_new_host(&mut env, |env| {
        env.run(&["at", &store, "ls"]).ok();
    });
    let c = read_config(&store);
    assert!(
        c.get("mac").is_some() && c.get("master_key_check").is_some(),
        "{c}"
    );
    let typed: StoreConfig = serde_json::from_value(c.clone()).unwrap();
    assert!(is_bound(&c, &typed.kdf, "correct horse", &typed.master_key));
    // The legacy key object still opens (under the MAC) and is replaced by a bound one.
    with_passphrase(&mut env, "second", |env| {
        env.run(&["at", &store, "ls"]).ok()
    });
    let now = key_objects(&store);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], legacy_key);
    let k = read_key(&store, &now[0]);
    assert!(is_bound(
        &c,
        &kdf_of(&k),
        "second",
        k["master_key"].as_str().unwrap()
    ));
    with_passphrase(&mut env, "second", |env| {
        env.run(&["at", &store, "check", "--read-data"]).ok()
    });
    env.restore(&store, &env.path("out"), &id).ok();

    // Stripped again: refused on every host now.
    let mut stripped = c.clone();
    strip(&mut stripped);
    write_config(&store, &stripped);
    let r = env.run(&["at", &store, "ls"]).code(17);
    assert!(r.one_line_error().contains("no MAC"), "{}", r.stderr);
    let home = env.path("home-never-opened");
    fs::create_dir_all(&home).unwrap();
    let out = env
        .command(&["at", &store, "ls"])
        .env("KLOSET_PASSPHRASE", "second")
        .env("HOME", &home)
        .output()
        .unwrap();
    let r = common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .code(17);
    assert!(r.one_line_error().contains("no MAC"), "{}", r.stderr);
}

#[test]
fn a_legacy_key_without_mac_is_refused_where_the_store_was_seen_authenticated() {
    let mut env = Env::new();
    let store = store(&env);
    env.create(&store).ok();
    add_key(&mut env, &store, "second");
    env.run(&["at", &store, "ls"]).ok();
    // A replayed legacy key object (as if saved before the store was upgraded) and a config
    // without MAC: on this host, which saw the store authenticated, it is refused.
    let typed: StoreConfig = serde_json::from_value(read_config(&store)).unwrap();
    let name = key_objects(&store).pop().unwrap();
    let mut k = read_key(&store, &name);
    let kdf = kdf_of(&k);
    k.as_object_mut().unwrap().remove("passphrase_check");
    k["master_key"] = json!(legacy_wrapped(
        &typed,
        &kdf,
        "second",
        k["master_key"].as_str().unwrap()
    ));
    fs::remove_file(Path::new(&store).join("keys").join(&name)).unwrap();
    plant_key(&store, &k);
    let mut c = read_config(&store);
    strip(&mut c);
    c["pack_size"] = json!(65536);
    write_config(&store, &c);
    let r = with_passphrase(&mut env, "second", |env| {
        env.run(&["at", &store, "ls"]).code(17)
    });
    assert!(r.one_line_error().contains("no MAC"), "{}", r.stderr);
}
