//! The registry's edit lock: an exclusive `flock` on `<registry>.lock`, held from the load to
//! the rename, so that two commands changing the registry at once queue instead of one
//! silently writing over the other's change.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::config;

/// Released when dropped (closing the file releases the `flock`).
pub struct EditLock {
    _file: File,
}

/// The lock file beside the registry as named (not where a symlink points): every kloset
/// process names it the same way. A separate file, because the registry itself is replaced
/// by rename and a lock on the old inode would not exclude the next writer.
pub fn lock_path(registry: &Path) -> PathBuf {
    let mut name = registry
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "registry.yaml".into());
    name.push(".lock");
    registry.with_file_name(name)
}

impl EditLock {
    /// Waits for any other edit of the same registry to finish.
    pub fn take(registry: &Path) -> Result<EditLock> {
        let path = lock_path(registry);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| {
                config(format!(
                    "cannot open the registry lock {}: {e}",
                    path.display()
                ))
            })?;
        loop {
            // SAFETY: flock only takes a lock on a descriptor this function owns.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(EditLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(config(format!(
                    "cannot lock the registry ({}): {err}",
                    path.display()
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn the_lock_file_sits_beside_the_registry() {
        assert_eq!(
            lock_path(Path::new("/c/kloset/registry.yaml")),
            Path::new("/c/kloset/registry.yaml.lock")
        );
    }

    #[test]
    fn a_second_edit_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("registry.yaml");
        let first = EditLock::take(&reg).unwrap();
        let got = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (reg, got) = (reg.clone(), got.clone());
            std::thread::spawn(move || {
                let _second = EditLock::take(&reg).unwrap();
                got.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            !got.load(Ordering::SeqCst),
            "taken while the first was held"
        );
        drop(first);
        waiter.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(lock_path(&reg)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
}
