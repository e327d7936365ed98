//! A local store whose puts survive a power cut. object_store's `LocalFileSystem` writes a
//! temporary file and renames it into place without ever calling fsync, so after a crash a
//! snapshot could be on disk while the packs it names were empty or garbage, and write-back
//! errors (ENOSPC on NFS, SMB or FUSE mounts, EIO) were never seen. Here every put writes a
//! temporary file, fsyncs it, renames it into place and fsyncs the directory before it
//! returns; reads, listings and deletes are `LocalFileSystem`'s own.

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::FutureExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, UploadPart,
};

/// What makes a file's (or a directory's) contents durable. Tests inject a failing one: a
/// write-back error is otherwise hard to provoke.
pub type SyncFn = fn(&File) -> io::Result<()>;

const STORE: &str = "LocalFileSystem";

#[derive(Debug)]
pub struct DurableStore {
    inner: LocalFileSystem,
    sync: SyncFn,
}

impl DurableStore {
    pub fn new(inner: LocalFileSystem) -> DurableStore {
        DurableStore::with_sync(inner, File::sync_all)
    }

    pub fn with_sync(inner: LocalFileSystem, sync: SyncFn) -> DurableStore {
        DurableStore { inner, sync }
    }
}

impl std::fmt::Display for DurableStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Durable({})", self.inner)
    }
}

fn generic(path: &FsPath, what: &str, e: io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: Box::new(io::Error::new(
            e.kind(),
            format!("{what} {}: {e}", path.display()),
        )),
    }
}

/// Writes `payload` to `path` durably: a new temporary file `<path>#<n>` (the name
/// `LocalFileSystem` uses, which its listings hide), fsync, rename into place (never over an
/// existing object when `create_only`), fsync of the directory. New parent directories are
/// made durable too. Returns only once all of it is on disk; any failure is an error.
pub fn put_durably(
    path: &FsPath,
    payload: &PutPayload,
    create_only: bool,
    sync: SyncFn,
) -> Result<PutResult> {
    let dir = path
        .parent()
        .ok_or_else(|| generic(path, "no directory for", ErrorKind::InvalidInput.into()))?;
    let (file, staged) = new_staged_file(path, dir, sync)?;
    let placed = write_and_sync(file, payload, &staged, sync)
        .and_then(|()| place(&staged, path, create_only));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    sync_dir(dir, sync)?;
    let meta = std::fs::metadata(path).map_err(|e| generic(path, "cannot read back", e))?;
    Ok(PutResult {
        e_tag: Some(etag(&meta)),
        version: None,
    })
}

fn new_staged_file(path: &FsPath, dir: &FsPath, sync: SyncFn) -> Result<(File, PathBuf)> {
    let mut n = 1u32;
    // A directory emptied by a delete's cleanup may vanish between making and using it.
    let mut dir_attempts = 0;
    loop {
        let mut staged = path.as_os_str().to_owned();
        staged.push(format!("#{n}"));
        let staged = PathBuf::from(staged);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staged)
        {
            Ok(f) => return Ok((f, staged)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            Err(e) if e.kind() == ErrorKind::NotFound && dir_attempts < 3 => {
                dir_attempts += 1;
                make_dirs(dir, sync)?;
            }
            Err(e) => return Err(generic(&staged, "cannot create", e)),
        }
    }
}

/// Makes `dir` and any missing ancestors, fsyncing the parent of each one made, so that a
/// durable file is never in a directory that a crash forgets.
/// A store's own directory, made with every new directory fsynced into its parent (a power
/// cut after `create` must not lose the store's entry).
pub fn create_store_dir(dir: &FsPath) -> std::io::Result<()> {
    // Absolute first: a relative name's last parent is "", which is no directory to make.
    let dir = std::path::absolute(dir)?;
    make_dirs(&dir, File::sync_all).map_err(std::io::Error::other)
}

fn make_dirs(dir: &FsPath, sync: SyncFn) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(p) => at = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(generic(d, "cannot create directory", e)),
        }
        if let Some(parent) = d.parent() {
            sync_dir(parent, sync)?;
        }
    }
    Ok(())
}

fn write_and_sync(
    mut file: File,
    payload: &PutPayload,
    staged: &FsPath,
    sync: SyncFn,
) -> Result<()> {
    for chunk in payload.iter() {
        file.write_all(chunk)
            .map_err(|e| generic(staged, "cannot write", e))?;
    }
    sync(&file).map_err(|e| generic(staged, "cannot sync", e))
}

fn sync_dir(dir: &FsPath, sync: SyncFn) -> Result<()> {
    let d = File::open(dir).map_err(|e| generic(dir, "cannot open directory", e))?;
    sync(&d).map_err(|e| generic(dir, "cannot sync directory", e))
}

/// Renames the staged file into place; `create_only` never replaces an existing object and
/// reports it as `AlreadyExists`, as `LocalFileSystem` does (leases, locks and `put_new`
/// depend on it).
fn place(staged: &FsPath, path: &FsPath, create_only: bool) -> Result<()> {
    if !create_only {
        return std::fs::rename(staged, path).map_err(|e| generic(path, "cannot rename to", e));
    }
    match rename_no_replace(staged, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(object_store::Error::AlreadyExists {
            path: path.to_string_lossy().into_owned(),
            source: Box::new(e),
        }),
        Err(e) => Err(generic(path, "cannot rename to", e)),
    }
}

#[cfg(target_os = "linux")]
fn rename_no_replace(from: &FsPath, to: &FsPath) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &FsPath| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(ErrorKind::InvalidInput))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: two valid NUL-terminated paths, resolved against the working directory.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // The filesystem (or an old kernel) has no RENAME_NOREPLACE: a hard link is just as
        // exclusive.
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            link_no_replace(from, to)
        }
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_no_replace(from: &FsPath, to: &FsPath) -> io::Result<()> {
    link_no_replace(from, to)
}

fn link_no_replace(from: &FsPath, to: &FsPath) -> io::Result<()> {
    std::fs::hard_link(from, to)?;
    let _ = std::fs::remove_file(from);
    Ok(())
}

/// `LocalFileSystem`'s ETag scheme, so both name an object's version alike.
fn etag(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    format!("{:x}-{mtime:x}-{:x}", meta.ino(), meta.len())
}

/// What `LocalFileSystem` refuses too: conditional updates and attributes (a storage class).
fn supported(attributes_empty: bool, mode: &PutMode) -> Result<()> {
    if matches!(mode, PutMode::Update(_)) || !attributes_empty {
        return Err(object_store::Error::NotImplemented);
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for DurableStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        supported(opts.attributes.is_empty(), &opts.mode)?;
        let path = self.inner.path_to_filesystem(location)?;
        let create_only = matches!(opts.mode, PutMode::Create);
        let sync = self.sync;
        tokio::task::spawn_blocking(move || put_durably(&path, &payload, create_only, sync))
            .await
            .map_err(|e| object_store::Error::Generic {
                store: STORE,
                source: Box::new(e),
            })?
    }

    /// Parts are gathered and written by the same durable put when the upload completes.
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        supported(opts.attributes.is_empty(), &PutMode::Overwrite)?;
        Ok(Box::new(GatheredUpload {
            path: self.inner.path_to_filesystem(location)?,
            parts: Arc::new(Mutex::new(Vec::new())),
            sync: self.sync,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_range(&self, location: &Path, range: Range<u64>) -> Result<Bytes> {
        self.inner.get_range(location, range).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    async fn head(&self, location: &Path) -> Result<ObjectMeta> {
        self.inner.head(location).await
    }

    async fn delete(&self, location: &Path) -> Result<()> {
        self.inner.delete(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
        let bytes = self.inner.get(from).await?.bytes().await?;
        self.put(to, bytes.into()).await.map(|_| ())
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> Result<()> {
        let bytes = self.inner.get(from).await?.bytes().await?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.put_opts(to, bytes.into(), opts).await.map(|_| ())
    }
}

/// A multipart upload to a local store: parts are kept in order of `put_part` and written
/// whole, durably, by `complete`.
#[derive(Debug)]
struct GatheredUpload {
    path: PathBuf,
    parts: Arc<Mutex<Vec<Bytes>>>,
    sync: SyncFn,
}

#[async_trait]
impl MultipartUpload for GatheredUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.lock().expect("parts").extend(data);
        futures::future::ready(Ok(())).boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let payload: PutPayload = std::mem::take(&mut *self.parts.lock().expect("parts"))
            .into_iter()
            .collect();
        let (path, sync) = (self.path.clone(), self.sync);
        tokio::task::spawn_blocking(move || put_durably(&path, &payload, false, sync))
            .await
            .map_err(|e| object_store::Error::Generic {
                store: STORE,
                source: Box::new(e),
            })?
    }

    async fn abort(&mut self) -> Result<()> {
        self.parts.lock().expect("parts").clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
