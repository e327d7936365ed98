//! Turning a resolved location (path, `s3://...`, or a registry entry) into a working store,
//! source or destination. This is the one place that knows which kind it has: above it, the
//! commands see a `Repo`, a `Source` or a `Destination`.

pub mod fs;
pub mod options;
pub mod s3;
pub mod secrets;
pub mod synthetic;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use object_store::local::LocalFileSystem;
use object_store::Attribute;

use crate::error::{usage, KlosetError};
use crate::location::Location;
use crate::remote::{self, RemoteKind};
use crate::repo::backend::Backend;
use s3::client::S3Api;
use s3::config::S3Config;

/// A location with its connector options, as given directly or found in the registry.
/// Secret options given as `@FILE`, `!COMMAND` or `?` hold their values here (`secrets`).
#[derive(Clone)]
pub struct Spec {
    pub location: Location,
    pub options: BTreeMap<String, String>,
    /// `@name:sub/path` narrows a source or destination.
    pub sub: Option<String>,
    /// How to name it in messages: `@name` or the location (never a secret).
    pub display: String,
}

/// Secret options never show in Debug output.
impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("location", &self.location)
            .field("options", &options::masked(&self.options))
            .field("sub", &self.sub)
            .field("display", &self.display)
            .finish()
    }
}

impl Spec {
    /// A location given directly, with the options given by `-o key=value`.
    pub fn bare(location: Location, options: BTreeMap<String, String>) -> Spec {
        let display = location.to_string();
        Spec {
            location,
            options,
            sub: None,
            display,
        }
    }

    /// A location given directly, with the command line's `-o` options: all of them for S3;
    /// for a path only `concurrency`, so that S3 options meant for another location of the
    /// same command line are not an error.
    pub fn inline(
        role: options::Role,
        location: Location,
        given: &BTreeMap<String, String>,
    ) -> Result<Spec> {
        let opts: BTreeMap<String, String> = match &location {
            Location::S3(_) => given.clone(),
            Location::Fs(_) => given
                .iter()
                .filter(|(k, _)| k.as_str() == "concurrency")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        options::validate_inline(role, &location, &opts)?;
        let opts = secrets::resolve(&opts, &location.to_string())?;
        Ok(Spec::bare(location, opts))
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// A filesystem source or destination, narrowed by `@name:sub/path`.
    fn fs_path(&self, base: &std::path::Path) -> std::path::PathBuf {
        match &self.sub {
            Some(sub) => base.join(sub),
            None => base.to_path_buf(),
        }
    }

    /// The S3 connection of this spec, narrowed by `@name:sub/path`.
    fn s3(&self, loc: &crate::location::S3Location) -> Result<S3Config> {
        let config = S3Config::new(loc, &self.options, &self.display)?;
        Ok(match &self.sub {
            Some(sub) => config.narrowed(sub),
            None => config,
        })
    }

    /// Requests in flight: S3 throughput comes from parallel requests, local disks saturate
    /// early.
    pub fn concurrency(&self) -> usize {
        if let Some(n) = self.option("concurrency").and_then(|v| v.parse().ok()) {
            return n;
        }
        match self.location {
            Location::Fs(_) => {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
                    + 2
            }
            Location::S3(_) => 16,
        }
    }
}

/// The store's backend. With `creating`, a missing local directory or S3 bucket is made.
pub async fn open_store(spec: &Spec, creating: bool) -> Result<Backend> {
    match &spec.location {
        Location::Fs(path) => {
            if creating {
                fs::durable_store::create_store_dir(path).map_err(|e| {
                    KlosetError::Config(format!(
                        "cannot create store directory {}: {e}",
                        path.display()
                    ))
                })?;
            } else if !path.join(crate::repo::CONFIG_KEY).exists()
                && !path
                    .join(crate::repo::config_rewrite::CONFIG_PREVIOUS_KEY)
                    .exists()
            {
                let has =
                    |d: &str| std::fs::read_dir(path.join(d)).is_ok_and(|mut e| e.next().is_some());
                if has("snapshots") || has("index") {
                    return Err(KlosetError::ConfigLost(spec.display.clone()).into());
                }
                return Err(KlosetError::NotInitialised(spec.display.clone()).into());
            }
            let abs = std::path::absolute(path)?;
            let store = LocalFileSystem::new_with_prefix(&abs)
                .map_err(|e| KlosetError::Config(format!("store {}: {e}", spec.display)))?
                .with_automatic_cleanup(true);
            let store = fs::durable_store::DurableStore::new(store);
            let mut backend = Backend::new(Arc::new(store), spec.display.clone(), false);
            backend.set_local_root(abs);
            Ok(backend)
        }
        Location::S3(loc) => {
            let config = spec.s3(loc)?;
            let lock = s3::lock::LockPolicy::from_options(&spec.options, &spec.display)?;
            if creating {
                create_bucket_if_missing(&config, lock.is_some()).await?;
            }
            let mut backend = Backend::new(config.object_store()?, spec.display.clone(), true);
            backend.sse_customer = config.sse.as_ref().is_some_and(|s| s.is_customer());
            if let Some(policy) = lock {
                let lock = s3::lock::S3Lock::new(S3Api::new(&config)?, policy);
                if creating {
                    lock.prepare_bucket().await?;
                }
                backend.lock = Some(Arc::new(lock));
            }
            if let Some(class) = spec.option("storage_class") {
                backend.set_pack_attribute(Attribute::StorageClass, class.to_string());
                let api = S3Api::new(&config)?;
                backend.cold = Some(Arc::new(s3::cold::S3Cold::new(api)));
            }
            Ok(backend)
        }
    }
}

/// `object_lock`: a new bucket is made with Object Lock, which most servers allow only then.
async fn create_bucket_if_missing(config: &S3Config, object_lock: bool) -> Result<()> {
    let api = S3Api::new(config)?;
    if !api.bucket_missing().await? {
        return Ok(());
    }
    if !api.create_bucket(object_lock).await? {
        return Err(remote::error(
            &config.display,
            RemoteKind::MissingBucket,
            &format!(
                "bucket '{}' does not exist and these credentials cannot create it",
                config.bucket
            ),
        ));
    }
    eprintln!("created bucket '{}'", config.bucket);
    Ok(())
}

/// The source of one backup: one source of any kind, or several paths.
pub enum SourceKind {
    Fs(fs::source::FsSource),
    S3(Box<s3::source::S3Source>),
}

/// Opens what `sources` name as one backup source: one source of any kind, or several paths.
pub async fn open_source(
    sources: &[Spec],
    select: fs::select::SelectOptions,
) -> Result<SourceKind> {
    let mut paths = Vec::new();
    for source in sources {
        match &source.location {
            Location::Fs(path) => paths.push(source.fs_path(path)),
            Location::S3(loc) if sources.len() == 1 => {
                if !select.if_present.is_empty() || select.one_file_system {
                    return Err(usage(
                        "--exclude-if-present, --exclude-caches and --one-file-system apply to filesystem sources: use --exclude patterns on object keys",
                    ));
                }
                let api = Arc::new(S3Api::new(&source.s3(loc)?)?);
                let scope = s3::source::Scope::from_options(
                    source.option("versions"),
                    source.option("acls"),
                )?;
                let s3 = s3::source::S3Source::open(
                    api,
                    source.concurrency(),
                    &select.excludes,
                    scope,
                )
                .await?;
                return Ok(SourceKind::S3(Box::new(s3)));
            }
            Location::S3(_) => {
                return Err(usage(format!(
                    "{}: one backup takes several paths, or one S3 source: back the bucket up on its own",
                    source.display
                )))
            }
        }
    }
    for path in &paths {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(usage(format!(
                "source {} does not exist: check the path",
                path.display()
            )));
        }
    }
    Ok(SourceKind::Fs(fs::source::FsSource::new(&paths, select)?))
}

/// The destination of one restore, whichever kind it is.
pub enum DestinationKind {
    Fs(fs::destination::FsDestination),
    S3(s3::destination::S3Destination),
}

/// Opens `dest` as a restore destination; `force` overwrites what differs.
pub fn open_destination(dest: &Spec, force: bool) -> Result<DestinationKind> {
    Ok(match &dest.location {
        Location::Fs(path) => DestinationKind::Fs(fs::destination::FsDestination::new(
            dest.fs_path(path),
            force,
        )),
        Location::S3(loc) => {
            let api = Arc::new(S3Api::new(&dest.s3(loc)?)?);
            DestinationKind::S3(s3::destination::S3Destination::new(api, force)?)
        }
    })
}
