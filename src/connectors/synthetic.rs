//! A generated tree for measuring big stores (scripts/bench's scale step): millions of tiny
//! files that exist only as a rule, read through the real archiver and writer, so a 10M-blob
//! store can be built and backed up again on a machine without 10M files on disk.
//!
//! File `i` lives at `/tNNN/dNNNNN/fNNNNNNNN`; its content is a few dozen bytes unique to
//! `(i, version)`, so every file is one blob. Generation `g` changes `changed_permille` of the
//! files chosen afresh at each generation (a content and an mtime change), the rest stay as
//! they were: "unchanged backup with 1 % changed" is generation 1 after generation 0.

use anyhow::{bail, Result};
use async_trait::async_trait;

use crate::archive::{Entry, Source, Work};
use crate::repo::tree::{Node, NodeKind};

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub files: u64,
    pub files_per_dir: u64,
    pub generation: u32,
    pub changed_permille: u32,
}

/// Leaf directories per top-level directory.
const DIRS_PER_TOP: u64 = 100;
const BASE_MTIME: i64 = 1_700_000_000_000_000_000;

/// Where an entry is: the root, a top directory, a leaf directory, or a file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    Root,
    Top(u64),
    Leaf(u64),
    File(u64),
}

impl Shape {
    pub fn new(
        files: u64,
        files_per_dir: u64,
        generation: u32,
        changed_permille: u32,
    ) -> Result<Shape> {
        if files_per_dir == 0 || changed_permille > 1000 {
            bail!("synthetic tree: files per directory must be at least 1 and changed at most 1000 per mille");
        }
        Ok(Shape {
            files,
            files_per_dir,
            generation,
            changed_permille,
        })
    }

    fn leaves(&self) -> u64 {
        self.files.div_ceil(self.files_per_dir)
    }

    fn tops(&self) -> u64 {
        self.leaves().div_ceil(DIRS_PER_TOP)
    }

    /// How many times file `i` has changed by this generation.
    pub fn version(&self, i: u64) -> u64 {
        (1..=u64::from(self.generation))
            .filter(|&g| mix(i, g) % 1000 < u64::from(self.changed_permille))
            .count() as u64
    }

    pub fn content(&self, i: u64) -> Vec<u8> {
        format!(
            "synthetic file {i} version {} {:016x}\n",
            self.version(i),
            mix(i, 0)
        )
        .into_bytes()
    }

    /// The children of a directory, in name order (names are zero-padded).
    pub fn children(&self, place: Place) -> Vec<Place> {
        match place {
            Place::Root => (0..self.tops()).map(Place::Top).collect(),
            Place::Top(t) => {
                let end = ((t + 1) * DIRS_PER_TOP).min(self.leaves());
                (t * DIRS_PER_TOP..end).map(Place::Leaf).collect()
            }
            Place::Leaf(d) => {
                let end = ((d + 1) * self.files_per_dir).min(self.files);
                (d * self.files_per_dir..end).map(Place::File).collect()
            }
            Place::File(_) => Vec::new(),
        }
    }

    pub fn node(&self, place: Place) -> Node {
        let (name, kind, size, mtime, inode) = match place {
            Place::Root => (String::new(), NodeKind::Dir, 0, BASE_MTIME, 1),
            Place::Top(t) => (format!("t{t:03}"), NodeKind::Dir, 0, BASE_MTIME, 2 + t),
            Place::Leaf(d) => (
                format!("d{d:05}"),
                NodeKind::Dir,
                0,
                BASE_MTIME,
                1 << 40 | d,
            ),
            Place::File(i) => {
                let size = self.content(i).len() as u64;
                let mtime = BASE_MTIME + self.version(i) as i64 * 1_000_000_000;
                (format!("f{i:08}"), NodeKind::File, size, mtime, 1 << 50 | i)
            }
        };
        Node {
            name,
            name_raw: None,
            kind,
            mode: if kind == NodeKind::Dir { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime,
            ctime: mtime,
            inode,
            size,
            content: Vec::new(),
            subtree: None,
            target: None,
            target_raw: None,
            links: 0,
            device: 0,
            rdev: 0,
            xattrs: Vec::new(),
            s3: None,
        }
    }
}

/// A fixed, well-spread 64-bit mix of a file number and a generation (splitmix64's finaliser).
fn mix(i: u64, g: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(g.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub struct SyntheticSource {
    shape: Shape,
}

impl SyntheticSource {
    pub fn new(shape: Shape) -> SyntheticSource {
        SyntheticSource { shape }
    }
}

#[async_trait]
impl Source for SyntheticSource {
    type Handle = Place;

    fn source_key(&self, _host: &str) -> String {
        format!(
            "synthetic:{}:{}",
            self.shape.files, self.shape.files_per_dir
        )
    }

    fn concurrency(&self) -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    }

    async fn root(&self) -> Result<Entry<Place>> {
        Ok(Entry {
            node: self.shape.node(Place::Root),
            handle: Place::Root,
        })
    }

    async fn children(&self, dir: &Entry<Place>, _work: &Work) -> Result<Vec<Entry<Place>>> {
        Ok(self
            .shape
            .children(dir.handle)
            .into_iter()
            .map(|p| Entry {
                node: self.shape.node(p),
                handle: p,
            })
            .collect())
    }

    fn unchanged(&self, node: &Node, prev: &Node) -> bool {
        prev.size == node.size && prev.mtime == node.mtime && prev.inode == node.inode
    }

    fn reuse(&self, mut node: Node, prev: &Node) -> Node {
        node.content = prev.content.clone();
        node
    }

    async fn read(&self, entry: Entry<Place>, work: &Work) -> Result<Option<Node>> {
        Ok(self.read_many(vec![entry], work).await?.pop().flatten())
    }

    async fn read_many(
        &self,
        entries: Vec<Entry<Place>>,
        work: &Work,
    ) -> Result<Vec<Option<Node>>> {
        let saver = work.saver.clone();
        let progress = work.progress.clone();
        let shape = self.shape;
        tokio::task::spawn_blocking(move || {
            entries
                .into_iter()
                .map(|Entry { mut node, handle }| {
                    let Place::File(i) = handle else {
                        return Ok(Some(node));
                    };
                    node.content =
                        saver.save_chunked(&shape.content(i), &|n| progress.add_bytes(n))?;
                    Ok(Some(node))
                })
                .collect()
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_in_exactly_one_leaf_in_order() {
        let s = Shape::new(2_345, 10, 0, 0).unwrap();
        let mut files = Vec::new();
        for top in s.children(Place::Root) {
            for leaf in s.children(top) {
                for f in s.children(leaf) {
                    let Place::File(i) = f else { panic!("{f:?}") };
                    files.push(i);
                }
            }
        }
        assert_eq!(files, (0..2_345).collect::<Vec<_>>());
        assert_eq!(s.children(Place::Root).len(), 3);
    }

    #[test]
    fn a_generation_changes_about_the_share_asked_and_nothing_else() {
        let g0 = Shape::new(100_000, 1000, 0, 10).unwrap();
        let g1 = Shape {
            generation: 1,
            ..g0
        };
        let changed = (0..g0.files)
            .filter(|&i| g0.content(i) != g1.content(i))
            .count();
        assert!((800..1200).contains(&changed), "{changed}");
        let moved = (0..g0.files)
            .filter(|&i| g0.node(Place::File(i)).mtime != g1.node(Place::File(i)).mtime)
            .count();
        assert_eq!(moved, changed);
    }

    #[test]
    fn contents_are_unique() {
        let s = Shape::new(10_000, 100, 2, 500).unwrap();
        let all: std::collections::HashSet<_> = (0..s.files).map(|i| s.content(i)).collect();
        assert_eq!(all.len(), 10_000);
    }
}
