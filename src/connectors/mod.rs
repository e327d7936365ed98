//! Turning a resolved location (path, `s3://...`, or a registry entry) into a working store,
//! source or destination. Nothing above this layer knows which kind it has.

pub mod options;
pub mod s3;
pub mod s3_api;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use object_store::local::LocalFileSystem;
use object_store::Attribute;

use crate::error::KlosetError;
use crate::location::Location;
use crate::repo::backend::Backend;

/// A location with its connector options, as given directly or found in the registry.
#[derive(Clone, Debug)]
pub struct Spec {
    pub location: Location,
    pub options: BTreeMap<String, String>,
    /// `@name:sub/path` narrows a source or destination.
    pub sub: Option<String>,
    /// How to name it in messages: `@name` or the location (never a secret).
    pub display: String,
}

impl Spec {
    pub fn bare(location: Location) -> Spec {
        let display = location.to_string();
        Spec {
            location,
            options: BTreeMap::new(),
            sub: None,
            display,
        }
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// A filesystem source or destination, narrowed by `@name:sub/path`.
    pub fn fs_path(&self, base: &std::path::Path) -> std::path::PathBuf {
        match &self.sub {
            Some(sub) => base.join(sub),
            None => base.to_path_buf(),
        }
    }

    /// Object-level access to an S3 source or destination, narrowed by `@name:sub/path`.
    pub fn s3_api(&self, loc: &crate::location::S3Location) -> Result<s3_api::S3Api> {
        let mut loc = loc.clone();
        if let Some(sub) = &self.sub {
            loc.prefix = [loc.prefix.as_str(), sub.as_str()]
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join("/");
        }
        s3_api::S3Api::new(&loc, &self.options, &self.display)
    }
}

/// The store's backend. With `creating`, a missing local directory is made.
pub fn open_store(spec: &Spec, creating: bool) -> Result<Backend> {
    match &spec.location {
        Location::Fs(path) => {
            if creating {
                std::fs::create_dir_all(path).map_err(|e| {
                    KlosetError::Config(format!(
                        "cannot create store directory {}: {e}",
                        path.display()
                    ))
                })?;
            } else if !path.join(crate::repo::CONFIG_KEY).exists() {
                return Err(KlosetError::NotInitialised(spec.display.clone()).into());
            }
            let abs = std::path::absolute(path)?;
            let store = LocalFileSystem::new_with_prefix(&abs)
                .map_err(|e| KlosetError::Config(format!("store {}: {e}", spec.display)))?
                .with_automatic_cleanup(true);
            Ok(Backend::new(Arc::new(store), spec.display.clone(), false))
        }
        Location::S3(loc) => {
            let store = s3::build(loc, &spec.options, &spec.display)?;
            let mut backend = Backend::new(store, spec.display.clone(), true);
            if let Some(class) = spec.option("storage_class") {
                backend
                    .pack_attributes
                    .insert(Attribute::StorageClass, class.to_string().into());
            }
            Ok(backend)
        }
    }
}

/// Requests in flight: S3 throughput comes from parallel requests, local disks saturate early.
pub fn concurrency(spec: &Spec) -> usize {
    if let Some(n) = spec.option("concurrency").and_then(|v| v.parse().ok()) {
        return n;
    }
    match spec.location {
        Location::Fs(_) => {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                + 2
        }
        Location::S3(_) => 16,
    }
}
