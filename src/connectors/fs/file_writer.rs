//! One restored file's content into its directory, and the file into place: written whole
//! as an unnamed file linked to its name, or under a temporary name beside its final one and
//! renamed when every segment is in (`temp_file`); metadata through the descriptor first
//! (`put_back`). What the blocking writers of a filesystem restore share.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use rustix::fs::{renameat, unlinkat, AtFlags};
use rustix::io::Errno;

use super::put_back::file_meta;
use super::target_dirs::{split_parent, TargetDirs};
use super::temp_file::{self, temp_name, Identity};
use crate::repo::tree::Node;

/// What the blocking writers share.
pub(super) struct Shared {
    pub(super) target: PathBuf,
    pub(super) owner: bool,
    /// Opened by `prepare`.
    pub(super) dirs: OnceLock<TargetDirs>,
    /// Files written in several segments whose temporary file exists: which file it is.
    pub(super) started: Mutex<HashMap<usize, Identity>>,
    /// Metadata that could not be put back on an entry that was itself restored.
    pub(super) problems: Mutex<Vec<String>>,
    /// Whole files are written as unnamed files; cleared the first time the target has none.
    pub(super) unnamed: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub(super) fn dirs(&self) -> io::Result<&TargetDirs> {
        self.dirs
            .get()
            .ok_or_else(|| io::Error::other("the restore target was not opened"))
    }

    /// One segment of a file into its temporary file; the whole file is also put in place.
    pub(super) fn write_segment(&self, job: &Job) -> io::Result<()> {
        let dirs = self.dirs()?;
        let (parent, name) = split_parent(&job.rel);
        let dir = dirs.dir(parent)?;
        let temp = temp_name(job.file);
        if let Some(node) = &job.node {
            if let Some(file) = self.unnamed(&dir)? {
                temp_file::write_sparse(&file, job.offset, &job.data)?;
                let found = self.meta_problems(&file, &job.rel, node)?;
                match self.name_unnamed(&file, &dir, &temp, name) {
                    Ok(()) => {
                        self.record(found);
                        return Ok(());
                    }
                    // /proc refuses the link (a security module, a sandbox): this file and
                    // the rest go by the named temporary path.
                    Err(Unnamed::CannotLink) => {
                        self.unnamed
                            .store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(Unnamed::Failed(e)) => return Err(e),
                }
            }
        }
        let file = match &job.node {
            Some(_) => temp_file::create(&dir, &temp)?,
            None => self.started_temp(job.file, &dir, &temp)?,
        };
        temp_file::write_sparse(&file, job.offset, &job.data)?;
        match &job.node {
            Some(node) => self.put_in_place(&file, &dir, &temp, &job.rel, name, node),
            None => Ok(()),
        }
    }

    fn unnamed(&self, dir: &std::os::fd::OwnedFd) -> io::Result<Option<File>> {
        use std::sync::atomic::Ordering;
        if !self.unnamed.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let file = temp_file::create_unnamed(dir)?;
        if file.is_none() {
            self.unnamed.store(false, Ordering::Relaxed);
        }
        Ok(file)
    }

    /// A complete unnamed file, with its metadata, gets its name; where the name is taken
    /// (restore --force), a temporary name first and a rename over what is there.
    fn name_unnamed(
        &self,
        file: &File,
        dir: &std::os::fd::OwnedFd,
        temp: &str,
        name: &[u8],
    ) -> Result<(), Unnamed> {
        match temp_file::link_unnamed(file, dir, name) {
            Ok(true) => return temp_file::check_linked(file, dir, name).map_err(Unnamed::Failed),
            Ok(false) => {}
            Err(e) if temp_file::link_refused(&e) => return Err(Unnamed::CannotLink),
            Err(e) => return Err(Unnamed::Failed(e)),
        }
        let linked = |n: &str| temp_file::link_unnamed(file, dir, n.as_bytes());
        if !linked(temp).map_err(Unnamed::Failed)? {
            // A leftover of an earlier process with this id, or planted: not ours to keep.
            match unlinkat(dir, temp, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(Unnamed::Failed(e.into())),
            }
            if !linked(temp).map_err(Unnamed::Failed)? {
                return Err(Unnamed::Failed(io::Error::other(format!(
                    "temporary name {temp} was taken again while the restore ran: not written"
                ))));
            }
        }
        temp_file::check_linked(file, dir, temp.as_bytes()).map_err(Unnamed::Failed)?;
        renameat(dir, temp, dir, name).map_err(|e| Unnamed::Failed(e.into()))
    }

    /// The temporary file of a file written in several segments: created by its first
    /// segment, the same file for the others.
    fn started_temp(
        &self,
        file: usize,
        dir: &std::os::fd::OwnedFd,
        temp: &str,
    ) -> io::Result<File> {
        let mut started = self.started.lock().expect("started files");
        if let Some(&was) = started.get(&file) {
            drop(started);
            return temp_file::reopen(dir, temp, was);
        }
        let created = temp_file::create(dir, temp)?;
        started.insert(file, temp_file::identity(&created)?);
        Ok(created)
    }

    pub(super) fn complete(&self, file: usize, rel: &[u8], node: &Node) -> io::Result<()> {
        let was = self.started.lock().expect("started files").remove(&file);
        let was = was.ok_or_else(|| io::Error::other("no content was written"))?;
        let (parent, name) = split_parent(rel);
        let dir = self.dirs()?.dir(parent)?;
        let temp = temp_name(file);
        let f = temp_file::reopen(&dir, &temp, was)?;
        self.put_in_place(&f, &dir, &temp, rel, name, node)
    }

    pub(super) fn abandon(&self, file: usize, rel: &[u8]) {
        self.started.lock().expect("started files").remove(&file);
        let (parent, _) = split_parent(rel);
        if let Ok(dir) = self.dirs().and_then(|d| d.dir(parent)) {
            let _ = unlinkat(&*dir, temp_name(file).as_str(), AtFlags::empty());
        }
    }

    /// The file is complete and verified: its metadata goes on, then it takes its final name
    /// in the same open directory (replacing, never following, whatever was there).
    fn put_in_place(
        &self,
        file: &File,
        dir: &std::os::fd::OwnedFd,
        temp: &str,
        rel: &[u8],
        name: &[u8],
        node: &Node,
    ) -> io::Result<()> {
        self.finish_meta(file, rel, node)?;
        renameat(dir, temp, dir, name)?;
        Ok(())
    }

    fn finish_meta(&self, file: &File, rel: &[u8], node: &Node) -> io::Result<()> {
        let found = self.meta_problems(file, rel, node)?;
        self.record(found);
        Ok(())
    }

    /// Puts the metadata on; what could not be put back is returned, to be recorded once the
    /// file is in place.
    fn meta_problems(&self, file: &File, rel: &[u8], node: &Node) -> io::Result<Vec<String>> {
        let shown = self.dirs()?.shown(rel);
        let mut found = Vec::new();
        file_meta(file, node, self.owner, &shown, &mut found)?;
        Ok(found)
    }

    fn record(&self, found: Vec<String>) {
        if !found.is_empty() {
            self.problems.lock().expect("problems").extend(found);
        }
    }
}

/// Why an unnamed file did not get its name.
enum Unnamed {
    /// The link through /proc was refused: the named path can still write it.
    CannotLink,
    Failed(io::Error),
}

pub(super) struct Job {
    pub(super) file: usize,
    pub(super) rel: Vec<u8>,
    /// The whole file is in this segment: it is put in place after it.
    pub(super) node: Option<Node>,
    pub(super) s3_key: Option<String>,
    pub(super) offset: u64,
    pub(super) data: Bytes,
}
