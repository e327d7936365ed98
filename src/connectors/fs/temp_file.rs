//! Where a file is written until it is complete. A file written in one go is an unnamed file
//! (O_TMPFILE) in its directory, linked to its name when complete: one directory change per
//! file instead of a create and a rename. Otherwise (several segments, a name already taken,
//! no O_TMPFILE) a name of this process beside its final one (so the rename that puts it in
//! place stays within one open directory), created with O_EXCL so it is always a new file of
//! this restore, and reopened for a later segment only if it is still that same file.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileExt, MetadataExt};

use rustix::fs::{linkat, openat, statat, unlinkat, AtFlags, Dir, Mode, OFlags, CWD};
use rustix::io::Errno;

/// The temporary name of the `file`th file fed.
pub fn temp_name(file: usize) -> String {
    format!(".kloset-{}-{file}.part", std::process::id())
}

/// Which file a temporary file is, to know it again: (device, inode).
pub type Identity = (u64, u64);

pub fn identity(file: &File) -> io::Result<Identity> {
    let meta = file.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

/// A new file named `name` in `dir`, readable by this user only until its mode is set. A
/// leftover of that name (an earlier process of the same id, or planted) is removed first:
/// whatever it was, what is written goes into a file this call created.
pub fn create(dir: &OwnedFd, name: &str) -> io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(0o600);
    match openat(dir, name, flags, mode) {
        Err(Errno::EXIST) => {
            unlinkat(dir, name, AtFlags::empty())?;
            Ok(File::from(openat(dir, name, flags, mode)?))
        }
        other => Ok(File::from(other?)),
    }
}

/// A new file with no name in `dir` (O_TMPFILE), or None where the filesystem or kernel has
/// none: nothing can see it until `link_unnamed` names it, and a crash leaves nothing behind.
pub fn create_unnamed(dir: &OwnedFd) -> io::Result<Option<File>> {
    let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
    match openat(dir, ".", flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok(Some(File::from(fd))),
        // EISDIR: a kernel that knows only O_DIRECTORY of the flag's bits.
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Gives an unnamed file `name` in `dir`. Ok(false): something already has that name, which
/// is left as it is.
pub fn link_unnamed(file: &File, dir: &OwnedFd, name: &[u8]) -> io::Result<bool> {
    // Through /proc, which needs no privilege (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file));
    match linkat(CWD, proc_path.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A link through /proc that a security module or a sandbox refuses (the named path can still
/// write the file), as against a failure of the directory itself (full, read-only, I/O).
pub fn link_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::PERM | Errno::ACCESS | Errno::NOENT | Errno::NOTSUP | Errno::XDEV)
    )
}

/// The name just linked holds the unnamed file itself: a /proc that is not procfs (or a swap
/// of the name by someone who can write the directory) would put another file there.
pub fn check_linked(file: &File, dir: &OwnedFd, name: &[u8]) -> io::Result<()> {
    let at = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let written = rustix::fs::fstat(file)?;
    if (at.st_dev, at.st_ino) != (written.st_dev, written.st_ino) {
        return Err(io::Error::other(format!(
            "{} was replaced while the restore ran: not written",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(())
}

/// Whether unnamed files can be named here: /proc must be procfs and show this process's
/// descriptors. `KLOSET_TEST_NAMED_TEMP` makes tests take the named path.
pub fn unnamed_supported() -> bool {
    std::env::var_os("KLOSET_TEST_NAMED_TEMP").is_none()
        && rustix::fs::statfs("/proc").is_ok_and(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC)
        && std::path::Path::new("/proc/self/fd").is_dir()
}

/// The temporary file created earlier as `was`, opened again for writing.
pub fn reopen(dir: &OwnedFd, name: &str, was: Identity) -> io::Result<File> {
    let fd = openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    // A hard link to another file has its inode: a second name gives it away. A file another
    // user made in its place, even one that took the removed file's inode number, is theirs.
    let meta = file.metadata()?;
    if (meta.dev(), meta.ino()) != was || meta.nlink() != 1 || !made_by_this_user(&meta) {
        return Err(io::Error::other(format!(
            "temporary file {name} was replaced while the restore ran: not written"
        )));
    }
    Ok(file)
}

/// Whether this process's user owns what `meta` describes, as it owns all it creates.
pub fn made_by_this_user(meta: &std::fs::Metadata) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    meta.uid() == unsafe { libc::geteuid() }
}

pub fn is_unfinished(name: &[u8]) -> bool {
    let Some(rest) = name
        .strip_prefix(b".kloset-")
        .and_then(|r| r.strip_suffix(b".part"))
    else {
        return false;
    };
    rest.iter().all(|c| c.is_ascii_digit() || *c == b'-')
}

/// Removes what an interrupted restore into the same target left in `dir`.
pub fn remove_unfinished(dir: &OwnedFd) {
    let Ok(entries) = Dir::read_from(dir) else {
        return;
    };
    let names: Vec<_> = entries
        .flatten()
        .filter(|e| is_unfinished(e.file_name().to_bytes()))
        .map(|e| e.file_name().to_owned())
        .collect();
    for name in names {
        let _ = unlinkat(dir, name.as_c_str(), AtFlags::empty());
    }
}

/// Filesystem blocks of zeros are left unwritten: a new file reads zeros there without
/// holding blocks (its length is set when it is complete).
pub fn write_sparse(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    const BLOCK: u64 = 4096;
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < data.len() {
        let next_boundary = ((offset + i as u64) / BLOCK + 1) * BLOCK;
        let end = ((next_boundary - offset) as usize).min(data.len());
        // No early exit: an OR over the block vectorises, and most blocks are not zero.
        let zero = data[i..end].iter().fold(0u8, |acc, b| acc | b) == 0;
        match (zero, run) {
            (false, None) => run = Some(i),
            (true, Some(start)) => {
                file.write_all_at(&data[start..i], offset + start as u64)?;
                run = None;
            }
            _ => {}
        }
        i = end;
    }
    if let Some(start) = run {
        file.write_all_at(&data[start..], offset + start as u64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::CWD;

    fn open_dir(path: &std::path::Path) -> OwnedFd {
        openat(
            CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap()
    }

    #[test]
    fn only_a_refusal_of_the_proc_link_falls_back_to_named_files() {
        let e = |n: Errno| io::Error::from_raw_os_error(n.raw_os_error());
        assert!(link_refused(&e(Errno::PERM)));
        assert!(link_refused(&e(Errno::ACCESS)));
        assert!(!link_refused(&e(Errno::NOSPC)));
        assert!(!link_refused(&e(Errno::IO)));
        assert!(!link_refused(&e(Errno::ROFS)));
        assert!(!link_refused(&io::Error::other("no errno")));
    }

    #[test]
    fn unfinished_names_are_this_tools_temporary_names_only() {
        assert!(is_unfinished(temp_name(17).as_bytes()));
        assert!(is_unfinished(b".kloset-12-3.part"));
        assert!(!is_unfinished(b".kloset-12-3.part.txt"));
        assert!(!is_unfinished(b".kloset-notes.part"));
        assert!(!is_unfinished(b"kloset-12-3.part"));
    }

    #[test]
    fn a_planted_file_or_link_is_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"keep").unwrap();
        let dir = open_dir(tmp.path());
        std::os::unix::fs::symlink(&outside, tmp.path().join("t")).unwrap();
        let f = create(&dir, "t").unwrap();
        f.write_all_at(b"new", 0).unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
        assert!(std::fs::symlink_metadata(tmp.path().join("t"))
            .unwrap()
            .is_file());
    }

    #[test]
    fn a_temporary_file_swapped_for_another_is_not_reopened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open_dir(tmp.path());
        // Kept open, as while the restore writes it: its inode number is not reused.
        let made = create(&dir, "t").unwrap();
        let was = identity(&made).unwrap();
        assert!(reopen(&dir, "t", was).is_ok());
        std::fs::hard_link(tmp.path().join("t"), tmp.path().join("t2")).unwrap();
        assert!(reopen(&dir, "t", was).is_err(), "a second name");
        std::fs::remove_file(tmp.path().join("t2")).unwrap();
        std::fs::remove_file(tmp.path().join("t")).unwrap();
        std::fs::write(tmp.path().join("other"), b"x").unwrap();
        std::fs::hard_link(tmp.path().join("other"), tmp.path().join("t")).unwrap();
        let e = reopen(&dir, "t", was).unwrap_err().to_string();
        assert!(e.contains("replaced"), "{e}");
        std::fs::remove_file(tmp.path().join("t")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("other"), tmp.path().join("t")).unwrap();
        assert!(reopen(&dir, "t", was).is_err());
    }

    #[test]
    fn an_unnamed_file_takes_its_name_only_when_linked_and_never_over_another() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open_dir(tmp.path());
        let Some(f) = create_unnamed(&dir).unwrap() else {
            return; // this filesystem has no O_TMPFILE: the named path is used
        };
        f.write_all_at(b"new", 0).unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        assert!(link_unnamed(&f, &dir, b"a").unwrap());
        assert_eq!(std::fs::read(tmp.path().join("a")).unwrap(), b"new");
        std::os::unix::fs::symlink("/nonexistent", tmp.path().join("b")).unwrap();
        let g = create_unnamed(&dir).unwrap().unwrap();
        assert!(!link_unnamed(&g, &dir, b"a").unwrap());
        assert!(!link_unnamed(&g, &dir, b"b").unwrap());
        assert_eq!(std::fs::read(tmp.path().join("a")).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(tmp.path().join("b"))
            .unwrap()
            .is_symlink());
    }

    #[test]
    fn leftovers_are_removed_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        for name in [".kloset-1-2.part", "keep", ".kloset-x.part"] {
            std::fs::write(tmp.path().join(name), b"").unwrap();
        }
        remove_unfinished(&open_dir(tmp.path()));
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".kloset-x.part", "keep"]);
    }
}
