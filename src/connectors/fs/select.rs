//! Which entries a filesystem backup covers: the paths given (several become one tree from
//! `/`, restic-style), minus patterns, minus the contents of tagged directories
//! (`--exclude-if-present`, `--exclude-caches`) and of other filesystems
//! (`--one-file-system`). The backup's walk and the progress scan both ask this.

use std::collections::HashSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::usage;
use crate::filter::Patterns;

/// The Cache Directory Tagging Specification's signature (bford.info/cachedir).
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55";

#[derive(Clone, Default)]
pub struct SelectOptions {
    pub excludes: Patterns,
    /// `NAME` or `NAME:HEADER`: a directory holding such a file is recorded, its contents not.
    pub if_present: Vec<String>,
    pub one_file_system: bool,
}

struct TagFile {
    name: String,
    header: Option<Vec<u8>>,
}

pub struct Selection {
    /// Patterns match paths relative to this: the one path given, else `/`.
    base: PathBuf,
    roots: Vec<PathBuf>,
    /// Strict ancestors of the roots (several paths only): listed for the roots alone.
    spine: HashSet<PathBuf>,
    excludes: Patterns,
    tags: Vec<TagFile>,
    /// With --one-file-system: the devices of the paths given.
    devices: Option<HashSet<u64>>,
}

impl Selection {
    /// `paths`: absolute and normalised. A path inside another is covered by it.
    pub fn new(mut paths: Vec<PathBuf>, opts: SelectOptions) -> Result<Selection> {
        paths.sort();
        paths.dedup();
        let roots: Vec<PathBuf> = paths
            .iter()
            .filter(|p| !paths.iter().any(|q| q != *p && p.starts_with(q)))
            .cloned()
            .collect();
        let base = match roots.as_slice() {
            [one] => one.clone(),
            _ => PathBuf::from("/"),
        };
        let mut spine = HashSet::new();
        if roots.len() > 1 {
            for r in &roots {
                spine.extend(r.ancestors().skip(1).map(Path::to_path_buf));
            }
        }
        let tags = opts
            .if_present
            .iter()
            .map(|t| parse_tag(t))
            .collect::<Result<_>>()?;
        let devices = match opts.one_file_system {
            true => Some(
                roots
                    .iter()
                    .filter_map(|r| std::fs::symlink_metadata(r).ok().map(|m| m.dev()))
                    .collect(),
            ),
            false => None,
        };
        Ok(Selection {
            base,
            roots,
            spine,
            excludes: opts.excludes,
            tags,
            devices,
        })
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// A directory above the paths given: only the way to them is recorded.
    pub fn is_spine(&self, dir: &Path) -> bool {
        self.spine.contains(dir)
    }

    /// An entry of a spine directory that leads to (or is) a path given.
    pub fn on_the_way(&self, path: &Path) -> bool {
        self.spine.contains(path) || self.roots.iter().any(|r| r == path)
    }

    pub fn has_patterns(&self) -> bool {
        !self.excludes.is_empty()
    }

    pub fn excluded(&self, path: &Path, is_dir: bool) -> bool {
        let rel = path.strip_prefix(&self.base).unwrap_or(path);
        self.excludes.matches(&rel.to_string_lossy(), is_dir)
    }

    /// The directory is recorded but not its contents: it is tagged, or on another
    /// filesystem. Blocking.
    pub fn skip_contents(&self, dir: &Path) -> bool {
        if let Some(devices) = &self.devices {
            if std::fs::symlink_metadata(dir).is_ok_and(|m| !devices.contains(&m.dev())) {
                return true;
            }
        }
        self.tags.iter().any(|t| t.in_dir(dir))
    }
}

fn parse_tag(text: &str) -> Result<TagFile> {
    let (name, header) = match text.split_once(':') {
        Some((n, h)) => (n, Some(h.as_bytes().to_vec())),
        None => (text, None),
    };
    if name.is_empty() || name.contains('/') {
        return Err(usage(format!(
            "--exclude-if-present '{text}': give a file name, optionally with :HEADER (e.g. .nobackup)"
        )));
    }
    Ok(TagFile {
        name: name.to_string(),
        header,
    })
}

impl TagFile {
    fn in_dir(&self, dir: &Path) -> bool {
        let path = dir.join(&self.name);
        match &self.header {
            None => std::fs::symlink_metadata(path).is_ok(),
            Some(header) => {
                let mut start = vec![0; header.len()];
                std::fs::File::open(path)
                    .and_then(|mut f| f.read_exact(&mut start))
                    .is_ok_and(|_| &start == header)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_paths_make_a_spine_from_root() {
        let s = Selection::new(
            vec![
                "/home/u/src".into(),
                "/etc".into(),
                "/home/u/src/deep".into(),
            ],
            SelectOptions::default(),
        )
        .unwrap();
        assert_eq!(
            s.roots(),
            &[PathBuf::from("/etc"), PathBuf::from("/home/u/src")]
        );
        assert_eq!(s.base(), Path::new("/"));
        assert!(s.is_spine(Path::new("/")) && s.is_spine(Path::new("/home/u")));
        assert!(!s.is_spine(Path::new("/etc")));
        assert!(s.on_the_way(Path::new("/home")) && s.on_the_way(Path::new("/etc")));
        assert!(!s.on_the_way(Path::new("/home/v")));
    }

    #[test]
    fn tag_files_with_and_without_header() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SelectOptions {
            if_present: vec![".nobackup".into(), CACHEDIR_TAG.into()],
            ..Default::default()
        };
        let s = Selection::new(vec![dir.path().into()], opts).unwrap();
        assert!(!s.skip_contents(dir.path()));
        std::fs::write(dir.path().join("CACHEDIR.TAG"), "not the signature").unwrap();
        assert!(
            !s.skip_contents(dir.path()),
            "a tag without the signature does not count"
        );
        std::fs::write(
            dir.path().join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n",
        )
        .unwrap();
        assert!(s.skip_contents(dir.path()));
        assert!(parse_tag("a/b").is_err() && parse_tag("").is_err());
    }
}
