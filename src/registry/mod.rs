//! The YAML connector registry: named sources, stores and destinations, referred to as `@name`.
//!
//! Lives in `$KLOSET_CONFIG_DIR`, else `$XDG_CONFIG_HOME/kloset`, else `~/.config/kloset`, as
//! `registry.yaml`; written atomically (temp file, fsync, rename) with mode 0600 because it
//! holds credentials. A file that does not parse is reported and never overwritten. Every
//! change goes through `Registry::edit`, which holds `registry.yaml.lock` from the load to the
//! rename, so concurrent commands never lose one another's changes. Option values are kept as
//! the text written (see `scalar`).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::connectors::options::{self, Role};
use crate::connectors::{secrets, Spec};
use crate::error::{config, usage};

mod lock;
mod scalar;

pub type Options = BTreeMap<String, String>;

#[derive(Clone, Default, Serialize, Deserialize)]
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

/// Every option value as the text written: `passphrase: 1.50` is `1.50`, `0x1F` is `0x1F`,
/// a 23-digit number its digits (YAML would make numbers of them; a secret must stay as
/// typed). Only a single value is accepted, never a list or a map.
fn scalar_entries<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Options>, D::Error> {
    let raw: Option<BTreeMap<String, BTreeMap<String, scalar::AsWritten>>> =
        Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(name, opts)| (name, opts.into_iter().map(|(k, v)| (k, v.0)).collect()))
        .collect())
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

/// Secret options never show in Debug output.
impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let masked = |m: &BTreeMap<String, Options>| -> BTreeMap<String, Options> {
            m.iter()
                .map(|(n, o)| (n.clone(), options::masked(o)))
                .collect()
        };
        f.debug_struct("Registry")
            .field("default_store", &self.default_store)
            .field("sources", &masked(&self.sources))
            .field("stores", &masked(&self.stores))
            .field("destinations", &masked(&self.destinations))
            .finish()
    }
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
        if let Some(at) = scalar::first_tagged(&text) {
            return Err(config(format!(
                "registry {}: {at} starts with '!', which YAML reads as a tag: quote the value ('!command ...'); kloset will not overwrite the file",
                path.display()
            )));
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

    /// Load, change and save the registry while holding its edit lock: a concurrent edit
    /// waits and then sees this one's result. Nothing is written when `change` fails.
    pub fn edit<T>(change: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        Self::edit_at(&registry_path(), change)
    }

    pub fn edit_at<T>(path: &Path, change: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        let _held = lock::EditLock::take(path)?;
        let mut registry = Self::load_from(path)?;
        let out = change(&mut registry)?;
        registry.save_to(path)?;
        Ok(out)
    }

    /// Only under the edit lock (`edit_at`).
    fn save_to(&self, path: &Path) -> Result<()> {
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
            Some((n, s)) => (n, sub_path(reference, s)?),
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
        let display = format!("@{name}");
        Ok(Spec {
            location,
            options: secrets::resolve(opts, &display)?,
            sub,
            display,
        })
    }
}

/// The `sub/path` of `@name:sub/path`, below the entry's location and never outside it: no
/// `..`, no leading `/`, no NUL. Empty and `.` components are dropped; none left is none.
fn sub_path(reference: &str, sub: &str) -> Result<Option<String>> {
    if sub.starts_with('/') {
        return Err(usage(format!(
            "'{reference}': the sub-path is relative to the entry's location: drop the leading '/'"
        )));
    }
    let parts: Vec<&str> = sub
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(usage(format!(
            "'{reference}': '..' would leave the entry's location: name a path below it, or register another entry"
        )));
    }
    if sub.contains('\0') {
        return Err(usage(format!("'{reference}': a sub-path cannot hold NUL")));
    }
    Ok(Some(parts.join("/")).filter(|s| !s.is_empty()))
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
mod tests;
