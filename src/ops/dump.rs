//! `kloset dump ID:/path --format tar|zip`: a tree of a snapshot as one archive on stdout,
//! content streamed in order through the restore feed's reader (coalesced ranged reads per
//! pack, each blob verified), without restoring anything. Entry names follow the filesystem
//! destination's rule (`restore::names`): a name that could point outside the directory the
//! archive is unpacked in (`..`, `/`, NUL, empty) is left out with everything below it, and
//! said.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use anyhow::Result;

use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::walk::{child_path, Visit, WalkOptions};
use crate::repo::IndexedRepo;
use crate::restore::feed::InOrder;
use crate::restore::Reader;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Tar,
    Zip,
}

/// What an archive of the tree `root` holds: each entry with its path below the archive's
/// root (`base/etc/fstab`, `base` may be empty), parents first; and one line for each entry
/// left out for its name.
pub async fn entries(
    repo: &IndexedRepo,
    root: Id,
    base: &str,
) -> Result<(Vec<(String, Node)>, Vec<String>)> {
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    let start = format!("/{base}").trim_end_matches('/').as_bytes().to_vec();
    repo.walk(vec![(start, root)], WalkOptions::default(), |v| match v {
        // A key deleted in the bucket (its newest entry a delete marker) is not in the tar.
        Visit::Node { node, .. } if node.is_deleted() => false,
        Visit::Node { parent, node } => {
            let raw = node.name_bytes();
            if let Some(why) = crate::restore::names::unfit(&raw) {
                left_out.push(left_out_line(parent, &raw, why, node.kind));
                return false;
            }
            let path = String::from_utf8_lossy(&child_path(parent, node))
                .trim_start_matches('/')
                .to_string();
            out.push((path, node.clone()));
            true
        }
        Visit::Pages { .. } | Visit::Broken { .. } => false,
    })
    .await?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, left_out))
}

fn left_out_line(parent: &[u8], raw: &[u8], why: &str, kind: NodeKind) -> String {
    let below = if kind == NodeKind::Dir {
        " and everything in it"
    } else {
        ""
    };
    let parent = String::from_utf8_lossy(parent);
    format!(
        "left out of the archive: '{}' in '{}/' ({why}){below}",
        String::from_utf8_lossy(raw).escape_debug(),
        parent.trim_start_matches('/').escape_debug()
    )
}

/// `entries`: paths below the archive's root (`etc`, `etc/fstab`), parents first. Runs on a
/// blocking thread: content is fetched through the runtime as the archive writer reads it,
/// `concurrency` reads at a time.
pub fn write(
    repo: Arc<IndexedRepo>,
    entries: Vec<(String, Node)>,
    format: Format,
    concurrency: usize,
    out: impl Write,
    warn: &dyn Fn(String),
) -> Result<()> {
    let reader = Reader::new(repo, concurrency);
    match format {
        Format::Tar => write_tar(&reader, entries, out),
        Format::Zip => write_zip(&reader, entries, out, warn),
    }
}

/// Of each entry, whether it is a hard link to an earlier one (the name of that one): its
/// content is in the archive once.
fn hard_links(entries: &[(String, Node)]) -> Vec<Option<String>> {
    let mut first_names: HashMap<(u64, u64), String> = HashMap::new();
    entries
        .iter()
        .map(|(path, node)| {
            if node.kind != NodeKind::File || node.links <= 1 {
                return None;
            }
            let key = (node.device, node.inode);
            match first_names.get(&key) {
                Some(first) => Some(first.clone()),
                None => {
                    first_names.insert(key, path.clone());
                    None
                }
            }
        })
        .collect()
}

fn write_tar(reader: &Reader, entries: Vec<(String, Node)>, out: impl Write) -> Result<()> {
    let links = hard_links(&entries);
    // The contents the archive holds, in the order it holds them.
    let files: Vec<Vec<crate::repo::id::Id>> = entries
        .iter()
        .zip(&links)
        .filter(|((_, n), link)| n.kind == NodeKind::File && link.is_none())
        .map(|((_, n), _)| n.content.clone())
        .collect();
    let mut contents = reader.in_order(files);
    let mut file = 0;
    let mut tar = tar::Builder::new(out);
    for ((path, node), link) in entries.into_iter().zip(links) {
        let mut h = tar::Header::new_gnu();
        h.set_mode(node.mode);
        h.set_uid(node.uid as u64);
        h.set_gid(node.gid as u64);
        h.set_mtime(node.mtime.max(0) as u64 / 1_000_000_000);
        h.set_size(0);
        match node.kind {
            NodeKind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                tar.append_data(&mut h, format!("{path}/"), std::io::empty())?;
            }
            NodeKind::Symlink => {
                h.set_entry_type(tar::EntryType::Symlink);
                let target = String::from_utf8_lossy(&node.target_bytes()).into_owned();
                tar.append_link(&mut h, &path, target)?;
            }
            NodeKind::Fifo | NodeKind::Chardev | NodeKind::Blockdev => {
                h.set_entry_type(match node.kind {
                    NodeKind::Fifo => tar::EntryType::Fifo,
                    NodeKind::Chardev => tar::EntryType::Char,
                    _ => tar::EntryType::Block,
                });
                h.set_device_major(libc::major(node.rdev as libc::dev_t))?;
                h.set_device_minor(libc::minor(node.rdev as libc::dev_t))?;
                tar.append_data(&mut h, &path, std::io::empty())?;
            }
            NodeKind::File => {
                if let Some(first) = link {
                    h.set_entry_type(tar::EntryType::Link);
                    tar.append_link(&mut h, &path, first)?;
                    continue;
                }
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(node.size);
                let content = Content::new(&mut contents, file, &path);
                file += 1;
                tar.append_data(&mut h, &path, content.exactly(node.size))?;
            }
        }
    }
    tar.into_inner()?.flush()?;
    Ok(())
}

fn write_zip(
    reader: &Reader,
    entries: Vec<(String, Node)>,
    out: impl Write,
    warn: &dyn Fn(String),
) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let files = entries
        .iter()
        .filter(|(_, n)| n.kind == NodeKind::File)
        .map(|(_, n)| n.content.clone())
        .collect();
    let mut contents = reader.in_order(files);
    let mut file = 0;
    let mut zip = zip::ZipWriter::new_stream(out);
    for (path, node) in entries {
        let options = SimpleFileOptions::default()
            .unix_permissions(node.mode)
            .last_modified_time(zip_time(node.mtime))
            .large_file(node.size >= u32::MAX as u64);
        match node.kind {
            NodeKind::Dir => zip.add_directory(format!("{path}/"), options)?,
            NodeKind::Symlink => {
                let target = String::from_utf8_lossy(&node.target_bytes()).into_owned();
                zip.add_symlink(&path, target, options)?;
            }
            NodeKind::File => {
                let options = options.compression_method(zip::CompressionMethod::Deflated);
                zip.start_file(&path, options)?;
                let mut content = Content::new(&mut contents, file, &path);
                file += 1;
                std::io::copy(&mut content, &mut zip)?;
            }
            _ => warn(format!(
                "{path}: FIFOs and device nodes have no place in a zip archive: left out (use --format tar)"
            )),
        }
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// DOS times start in 1980; earlier ones are clamped there.
fn zip_time(ns: i64) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_nanos(ns).with_timezone(&chrono::Local);
    zip::DateTime::from_date_and_time(
        t.year().clamp(1980, 2107) as u16,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_default()
}

/// A file's content as a reader, taken in order from the archive's contents.
struct Content<'a> {
    contents: &'a mut InOrder,
    file: usize,
    runtime: tokio::runtime::Handle,
    current: bytes::Bytes,
    path: String,
}

impl<'a> Content<'a> {
    fn new(contents: &'a mut InOrder, file: usize, path: &str) -> Content<'a> {
        Content {
            contents,
            file,
            runtime: tokio::runtime::Handle::current(),
            current: bytes::Bytes::new(),
            path: path.to_string(),
        }
    }

    /// The archive header promised `size` bytes: a snapshot that says otherwise is damage,
    /// not something to pad over.
    fn exactly(self, size: u64) -> impl Read + 'a {
        Exact {
            inner: self,
            left: size,
        }
    }
}

impl Read for Content<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            let next = self.runtime.block_on(self.contents.next_of(self.file));
            let Some(blob) = next else {
                return Ok(0);
            };
            self.current =
                blob.map_err(|e| std::io::Error::other(format!("{}: {e:#}", self.path)))?;
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

struct Exact<'a> {
    inner: Content<'a>,
    left: u64,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left || (n == 0 && self.left > 0) {
            return Err(std::io::Error::other(format!(
                "{}: content does not match the size the snapshot records",
                self.inner.path
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// One file's content to `out`, in order, through the feed's reader.
pub async fn cat(
    repo: Arc<IndexedRepo>,
    node: &Node,
    concurrency: usize,
    out: &mut impl Write,
) -> Result<()> {
    let mut contents = Reader::new(repo, concurrency).in_order(vec![node.content.clone()]);
    while let Some(blob) = contents.next_of(0).await {
        out.write_all(&blob?)?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_left_out_entry_is_named_with_its_directory_and_reason() {
        let line = left_out_line(b"/etc", b"..", "a name that is '.' or '..'", NodeKind::Dir);
        assert_eq!(
            line,
            "left out of the archive: '..' in 'etc/' (a name that is '.' or '..') and everything in it"
        );
        let line = left_out_line(b"", b"a\0b", "a name with NUL", NodeKind::File);
        assert_eq!(
            line,
            "left out of the archive: 'a\\0b' in '/' (a name with NUL)"
        );
    }
}
