use super::*;
use crate::location::Location;

fn parsed(text: &str) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.yaml");
    std::fs::write(&path, text).unwrap();
    Registry::load_from(&path).unwrap()
}

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.yaml");
    std::fs::write(&path, text).unwrap();
    Registry::load_from(&path).unwrap_err().to_string()
}

fn sample() -> Registry {
    parsed(
        "default_store: main\n\
         stores:\n  main:\n    location: /srv/store\n    passphrase: hunter2\n\
         \x20 cloud:\n    location: s3://h:9000/bkt/p\n    use_tls: false\n    concurrency: 16\n\
         sources:\n  www:\n    location: /var/www\n\
         destinations:\n  scratch:\n    location: s3://h/restores\n",
    )
}

#[test]
fn a_missing_or_blank_file_is_an_empty_registry() {
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::load_from(&dir.path().join("absent.yaml")).unwrap();
    assert!(r.stores.is_empty() && r.default_store.is_none());
    assert!(parsed("  \n\n").sources.is_empty());
}

#[test]
fn yaml_scalars_are_kept_as_text() {
    let r = sample();
    let cloud = &r.stores["cloud"];
    assert_eq!(cloud["use_tls"], "false");
    assert_eq!(cloud["concurrency"], "16");
    assert_eq!(r.default_store.as_deref(), Some("main"));
    assert_eq!(r.entries(Role::Source)["www"]["location"], "/var/www");
    assert_eq!(r.entries(Role::Destination).len(), 1);
}

#[test]
fn nested_option_values_are_refused() {
    let e = load_err("stores:\n  s:\n    location: [a, b]\n");
    assert!(
        e.contains("stores.s.location: invalid type: sequence, expected a single value"),
        "{e}"
    );
}

#[test]
fn unknown_top_level_keys_are_refused_with_a_line() {
    let e = load_err("default_store: a\nstorez:\n  a:\n    location: /x\n");
    assert!(e.contains("is not valid at line"), "{e}");
    assert!(e.contains("will not overwrite"), "{e}");
}

#[test]
fn parse_errors_never_quote_the_offending_text() {
    let e = load_err("stores:\n  s: \"sekrit-passphrase\"\n");
    assert!(!e.contains("sekrit"), "{e}");
}

#[test]
fn redact_hides_quoted_parts_and_the_position() {
    assert_eq!(
        redact("invalid type: string \"hunter2\", expected a map at line 3 column 4"),
        "invalid type: string \"...\", expected a map"
    );
    assert_eq!(redact("unknown field `storez`"), "unknown field `...`");
    assert_eq!(redact("plain"), "plain");
    assert_eq!(redact(&"x".repeat(500)).len(), 160);
    assert_eq!(
        redact("unclosed \"secret"),
        "unclosed \"",
        "an open quote hides the rest"
    );
}

#[test]
fn save_and_load_round_trip_with_private_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("registry.yaml");
    let r = sample();
    r.save_to(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds credentials");
    let back = Registry::load_from(&path).unwrap();
    assert_eq!(back.stores, r.stores);
    assert_eq!(back.sources, r.sources);
    assert_eq!(back.destinations, r.destinations);
    assert_eq!(back.default_store, r.default_store);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

#[test]
fn saving_through_a_symlink_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("dotfiles.yaml");
    let link = dir.path().join("registry.yaml");
    std::fs::write(&real, "").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    sample().save_to(&link).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(Registry::load_from(&real)
        .unwrap()
        .stores
        .contains_key("main"));
}

#[test]
fn an_empty_default_store_is_not_written() {
    let text = serde_yaml::to_string(&Registry::default()).unwrap();
    assert!(!text.contains("default_store"), "{text}");
}

#[test]
fn entries_mut_edits_the_right_role() {
    let mut r = Registry::default();
    r.entries_mut(Role::Destination).insert(
        "d".into(),
        Options::from([("location".into(), "/d".into())]),
    );
    assert!(r.destinations.contains_key("d"));
    assert!(r.sources.is_empty() && r.stores.is_empty());
}

#[test]
fn resolve_finds_names_with_or_without_the_at_sign() {
    let r = sample();
    let spec = r.resolve(Role::Store, "@main").unwrap();
    assert_eq!(spec.location, Location::Fs("/srv/store".into()));
    assert_eq!(spec.display, "@main");
    assert!(spec.sub.is_none());
    assert_eq!(spec.options["passphrase"], "hunter2");
    assert_eq!(r.resolve(Role::Store, "main").unwrap().display, "@main");
}

#[test]
fn resolve_narrows_sources_and_destinations_to_a_sub_path() {
    let r = sample();
    let spec = r.resolve(Role::Source, "@www:site//./html/").unwrap();
    assert_eq!(spec.sub.as_deref(), Some("site/html"));
    let spec = r.resolve(Role::Destination, "@scratch:").unwrap();
    assert!(spec.sub.is_none(), "an empty sub-path is none");
    let e = r.resolve(Role::Store, "@main:x").unwrap_err().to_string();
    assert!(e.contains("a store cannot be narrowed"), "{e}");
}

#[test]
fn a_sub_path_never_leaves_its_entry() {
    let r = sample();
    for bad in [
        "@www:..",
        "@www:../x",
        "@www:a/../../x",
        "@www:/etc",
        "@www:a\0b",
    ] {
        let e = r.resolve(Role::Source, bad).unwrap_err();
        let code = e
            .downcast_ref::<crate::error::KlosetError>()
            .map(|k| k.exit_code());
        assert_eq!(code, Some(2), "{bad}: a usage error");
    }
    assert_eq!(
        r.resolve(Role::Source, "@www:a..b/..c")
            .unwrap()
            .sub
            .as_deref(),
        Some("a..b/..c"),
        "only whole '..' components are refused"
    );
}

#[test]
fn debug_output_masks_secrets() {
    let shown = format!("{:?}", sample());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("/srv/store"), "{shown}");
}

#[test]
fn concurrent_edits_in_one_process_keep_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.yaml");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                Registry::edit_at(&path, |r| {
                    let opts = Options::from([("location".into(), format!("/d/{i}"))]);
                    r.sources.insert(format!("s{i}"), opts);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    Ok(())
                })
                .unwrap()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(Registry::load_from(&path).unwrap().sources.len(), 8);
}

#[test]
fn a_failed_edit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.yaml");
    let e = Registry::edit_at(&path, |r| -> Result<()> {
        r.sources.insert("x".into(), Options::new());
        Err(config("no"))
    });
    assert!(e.is_err());
    assert!(!path.exists());
}

#[test]
fn resolve_looks_only_at_the_given_role() {
    let r = sample();
    let e = r.resolve(Role::Source, "@main").unwrap_err().to_string();
    assert!(e.contains("unknown source '@main'"), "{e}");
    assert!(e.contains("kloset source ls"), "{e}");
}

#[test]
fn resolve_validates_the_entry() {
    let r =
        parsed("sources:\n  bad:\n    location: /x\n    region: eu\n  none:\n    concurrency: 2\n");
    assert!(r.resolve(Role::Source, "@bad").is_err());
    let e = r.resolve(Role::Source, "@none").unwrap_err().to_string();
    assert!(e.contains("needs location="), "{e}");
}

#[test]
fn names_are_letters_digits_and_dash_underscore_dot() {
    for ok in ["main", "web-1", "a_b", "v1.2", "X"] {
        assert!(valid_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", "a b", "a/b", "a:b", "@a", "caf\u{e9}"] {
        let e = valid_name(bad).unwrap_err().to_string();
        assert!(e.contains("invalid name"), "{bad}: {e}");
    }
}
