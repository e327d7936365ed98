//! The YAML connector registry: named sources, stores and destinations, referred to as `@name`.
//!
//! Lives in `$KLOSET_CONFIG_DIR`, else `$XDG_CONFIG_HOME/kloset`, else `~/.config/kloset`, as
//! `registry.yaml`; written atomically (temp file, fsync, rename) with mode 0600 because it
//! holds credentials. A file that does not parse is reported and never overwritten.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::connectors::options::{self, Role};
use crate::connectors::Spec;
use crate::error::config;

pub type Options = BTreeMap<String, String>;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_store: Option<String>,
    #[serde(default, deserialize_with = "scalar_entries")]
    pub sources: BTreeMap<String, Options>,
    #[serde(default, deserialize_with = "scalar_entries")]
    pub stores: BTreeMap<String, Options>,
    #[serde(default, deserialize_with = "scalar_entries")]
    pub destinations: BTreeMap<String, Options>,
}

/// Hand-written files say `use_tls: true` and `concurrency: 16`; options are kept as text.
fn scalar_entries<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Options>, D::Error> {
    use serde::de::Error;
    let raw: Option<BTreeMap<String, BTreeMap<String, serde_yaml::Value>>> =
        Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (name, opts) in raw.unwrap_or_default() {
        let mut converted = Options::new();
        for (k, v) in opts {
            let text = match v {
                serde_yaml::Value::String(s) => s,
                serde_yaml::Value::Bool(b) => b.to_string(),
                serde_yaml::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(D::Error::custom(format!(
                        "option '{k}' of '{name}' must be a single value"
                    )))
                }
            };
            converted.insert(k, text);
        }
        out.insert(name, converted);
    }
    Ok(out)
}

pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KLOSET_CONFIG_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("kloset");
    }
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".config")
        .join("kloset")
}

pub fn registry_path() -> PathBuf {
    config_dir().join("registry.yaml")
}

impl Registry {
    pub fn load() -> Result<Registry> {
        Self::load_from(&registry_path())
    }

    pub fn load_from(path: &Path) -> Result<Registry> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registry::default()),
            Err(e) => {
                return Err(config(format!(
                    "cannot read registry {}: {e}",
                    path.display()
                )))
            }
        };
        if text.trim().is_empty() {
            return Ok(Registry::default());
        }
        serde_yaml::from_str(&text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {}", l.line()))
                .unwrap_or_default();
            config(format!(
                "registry {} is not valid{at}: {}; fix or move the file (kloset will not overwrite it)",
                path.display(),
                redact(&e.to_string())
            ))
        })
    }

    pub fn save(&self) -> Result<()> {
        self.save_to(&registry_path())
    }

    pub fn save_to(&self, path: &Path) -> Result<()> {
        // A registry that is a symlink (kept in a dotfiles repository, say) stays one: the
        // file it points to is replaced.
        let resolved = std::fs::canonicalize(path).ok();
        let path = resolved.as_deref().unwrap_or(path);
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| config(format!("cannot create {}: {e}", dir.display())))?;
        let text = serde_yaml::to_string(self)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".registry.")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| {
            config(format!(
                "cannot write registry {}: {}",
                path.display(),
                e.error
            ))
        })?;
        Ok(())
    }

    pub fn entries(&self, role: Role) -> &BTreeMap<String, Options> {
        match role {
            Role::Source => &self.sources,
            Role::Store => &self.stores,
            Role::Destination => &self.destinations,
        }
    }

    pub fn entries_mut(&mut self, role: Role) -> &mut BTreeMap<String, Options> {
        match role {
            Role::Source => &mut self.sources,
            Role::Store => &mut self.stores,
            Role::Destination => &mut self.destinations,
        }
    }

    /// `@name` or `@name:sub/path` for a role, as a connector spec.
    pub fn resolve(&self, role: Role, reference: &str) -> Result<Spec> {
        let body = reference.strip_prefix('@').unwrap_or(reference);
        let (name, sub) = match body.split_once(':') {
            Some((n, s)) => (
                n,
                Some(s.trim_matches('/').to_string()).filter(|s| !s.is_empty()),
            ),
            None => (body, None),
        };
        let opts = self.entries(role).get(name).ok_or_else(|| {
            config(format!(
                "unknown {} '@{name}': run 'kloset {} ls' to see the names, or 'kloset {} add {name} location=...'",
                role.noun(),
                role.noun(),
                role.noun()
            ))
        })?;
        if role == Role::Store && sub.is_some() {
            return Err(config(format!(
                "'{reference}': a store cannot be narrowed to a sub-path"
            )));
        }
        let location = options::validate(role, opts)?;
        Ok(Spec {
            location,
            options: opts.clone(),
            sub,
            display: format!("@{name}"),
        })
    }
}

/// serde_yaml quotes the offending text in some errors (`invalid type: string "..."`); it may
/// be a secret, so every quoted or backquoted part is left out.
fn redact(msg: &str) -> String {
    let msg = match msg.find(" at line") {
        Some(i) => &msg[..i],
        None => msg,
    };
    let mut out = String::new();
    let mut quoted = None;
    for c in msg.chars() {
        match quoted {
            Some(q) if c == q => {
                out.push_str("...");
                out.push(c);
                quoted = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                quoted = Some(c);
            }
            None => out.push(c),
        }
    }
    out.chars().take(160).collect()
}

pub fn valid_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(config(format!(
            "invalid name '{name}': use letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
            e.contains("option 'location' of 's' must be a single value"),
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
        let spec = r.resolve(Role::Source, "@www:/site/html/").unwrap();
        assert_eq!(spec.sub.as_deref(), Some("site/html"));
        let spec = r.resolve(Role::Destination, "@scratch:").unwrap();
        assert!(spec.sub.is_none(), "an empty sub-path is none");
        let e = r.resolve(Role::Store, "@main:x").unwrap_err().to_string();
        assert!(e.contains("a store cannot be narrowed"), "{e}");
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
        let r = parsed(
            "sources:\n  bad:\n    location: /x\n    region: eu\n  none:\n    concurrency: 2\n",
        );
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
}
